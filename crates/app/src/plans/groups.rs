//! Library groups (product §9): built-ins are fixed, the owner's own can be added, renamed and
//! deleted while no plan uses them. Libraries are put in a group one by one.

use crate::audit::Actor;
use crate::{App, AppError};
use boxoffice_store::StoreError;
use boxoffice_store::library_groups::{self as store, LibraryGroupRow};

fn check(name: &str, description: &str) -> Result<(String, String), AppError> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 80 {
        return Err(AppError::invalid(
            "name",
            "a library group needs a name of 1 to 80 characters",
        ));
    }
    if description.chars().count() > 500 {
        return Err(AppError::invalid("description", "at most 500 characters"));
    }
    Ok((n.to_string(), description.trim().to_string()))
}

fn taken(e: StoreError) -> AppError {
    if e.is_conflict() {
        AppError::Conflict("a library group with this name already exists".into())
    } else if e.is_not_found() {
        AppError::NotFound("library group")
    } else {
        AppError::Store(e)
    }
}

/// Refuses a change to a built-in group with the reason, rather than a bare "not found".
fn owner_made(g: &LibraryGroupRow, what: &str) -> Result<(), AppError> {
    if g.builtin.is_some() {
        return Err(AppError::Conflict(format!(
            "\"{}\" is a built-in library group: it cannot be {what}",
            g.name
        )));
    }
    Ok(())
}

impl App {
    pub async fn list_library_groups(&self) -> Result<Vec<LibraryGroupRow>, AppError> {
        Ok(store::list(self.db.ex()).await?)
    }

    pub async fn library_group(&self, id: i64) -> Result<LibraryGroupRow, AppError> {
        store::find(self.db.ex(), id)
            .await
            .map_err(AppError::not_found_as("library group"))
    }

    pub async fn add_library_group(
        &self,
        actor: &Actor,
        name: &str,
        description: &str,
    ) -> Result<LibraryGroupRow, AppError> {
        let (name, description) = check(name, description)?;
        let mut tx = self.db.begin().await?;
        let id = store::insert(tx.ex(), &name, &description, self.now())
            .await
            .map_err(taken)?;
        self.audit(tx.ex(), actor, "library_groups.add", &id.to_string(), &name)
            .await?;
        let row = store::find(tx.ex(), id).await?;
        tx.commit().await?;
        Ok(row)
    }

    pub async fn rename_library_group(
        &self,
        actor: &Actor,
        id: i64,
        name: &str,
        description: &str,
    ) -> Result<(), AppError> {
        let current = self.library_group(id).await?;
        owner_made(&current, "renamed")?;
        let (name, description) = check(name, description)?;
        let mut tx = self.db.begin().await?;
        store::rename(tx.ex(), id, &name, &description)
            .await
            .map_err(taken)?;
        self.audit(
            tx.ex(),
            actor,
            "library_groups.rename",
            &id.to_string(),
            &name,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes an owner's group unless a plan uses it; its libraries go back to Standard.
    pub async fn delete_library_group(&self, actor: &Actor, id: i64) -> Result<(), AppError> {
        let current = self.library_group(id).await?;
        owner_made(&current, "deleted")?;
        let mut tx = self.db.begin().await?;
        let plans = store::plans_using(tx.ex(), id).await?;
        if !plans.is_empty() {
            let names: Vec<String> = plans.iter().map(|p| format!("\"{p}\"")).collect();
            return Err(AppError::Conflict(format!(
                "library group \"{}\" is used by plan {}: remove it from those plans first",
                current.name,
                names.join(", ")
            )));
        }
        store::delete(tx.ex(), id).await.map_err(taken)?;
        self.audit(
            tx.ex(),
            actor,
            "library_groups.delete",
            &id.to_string(),
            &current.name,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Puts a library in a group. Libraries in Private are never shared by any plan.
    pub async fn assign_library_group(
        &self,
        actor: &Actor,
        library_id: i64,
        group_id: i64,
    ) -> Result<(), AppError> {
        let group = store::find(self.db.ex(), group_id).await.map_err(|e| {
            if e.is_not_found() {
                AppError::invalid("library_group_id", "there is no such library group")
            } else {
                AppError::Store(e)
            }
        })?;
        let mut tx = self.db.begin().await?;
        store::assign_library(tx.ex(), library_id, group_id)
            .await
            .map_err(AppError::not_found_as("library"))?;
        self.audit(
            tx.ex(),
            actor,
            "libraries.group",
            &library_id.to_string(),
            &group.name,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
