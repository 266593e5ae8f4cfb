//! Server locations (product §11): plain names a customer picks from at checkout.

use crate::audit::Actor;
use crate::{App, AppError};
use boxoffice_store::server_locations::{self as store, LocationRow};

fn check(name: &str, description: &str) -> Result<(String, String), AppError> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 80 {
        return Err(AppError::invalid(
            "name",
            "a location needs a name of 1 to 80 characters",
        ));
    }
    if description.chars().count() > 500 {
        return Err(AppError::invalid("description", "at most 500 characters"));
    }
    Ok((n.to_string(), description.trim().to_string()))
}

fn taken(e: boxoffice_store::StoreError) -> AppError {
    if e.is_conflict() {
        AppError::Conflict("a location with this name already exists".into())
    } else if e.is_not_found() {
        AppError::NotFound("server location")
    } else {
        AppError::Store(e)
    }
}

impl App {
    pub async fn list_server_locations(&self) -> Result<Vec<LocationRow>, AppError> {
        Ok(store::list(self.db.ex()).await?)
    }

    pub async fn add_server_location(
        &self,
        actor: &Actor,
        name: &str,
        description: &str,
        sort_order: i64,
    ) -> Result<LocationRow, AppError> {
        let (name, description) = check(name, description)?;
        let mut tx = self.db.begin().await?;
        let row = store::insert(tx.ex(), &name, &description, sort_order, self.now())
            .await
            .map_err(taken)?;
        self.audit(
            tx.ex(),
            actor,
            "server_locations.add",
            &row.id.to_string(),
            &name,
        )
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    pub async fn update_server_location(
        &self,
        actor: &Actor,
        id: i64,
        name: &str,
        description: &str,
        sort_order: i64,
    ) -> Result<(), AppError> {
        let (name, description) = check(name, description)?;
        let mut tx = self.db.begin().await?;
        store::update(tx.ex(), id, &name, &description, sort_order)
            .await
            .map_err(taken)?;
        self.audit(
            tx.ex(),
            actor,
            "server_locations.update",
            &id.to_string(),
            &name,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a location; its servers stay, with no location.
    pub async fn delete_server_location(&self, actor: &Actor, id: i64) -> Result<(), AppError> {
        let mut tx = self.db.begin().await?;
        store::delete(tx.ex(), id).await.map_err(taken)?;
        self.audit(
            tx.ex(),
            actor,
            "server_locations.delete",
            &id.to_string(),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
