//! Libraries as synced from the servers (product §13). They are never created by hand.

use crate::{App, AppError};
use boxoffice_store::libraries::{self as store, LibraryRow};

impl App {
    /// Current libraries of one server, or of every server.
    pub async fn list_libraries(
        &self,
        server_id: Option<i64>,
    ) -> Result<Vec<LibraryRow>, AppError> {
        Ok(store::list(self.db.ex(), server_id).await?)
    }
}
