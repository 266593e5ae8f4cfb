//! Building the enabled request-app clients from the runtime settings.

use crate::settings::Settings;
use crate::{App, AppError};
use boxoffice_requests::{
    AppKind, ClientOptions, OmbiClient, OverseerrClient, PetioClient, RequestApp, RequestAppError,
};

pub(super) const APPS: [AppKind; 3] = AppKind::ALL;

/// One enabled app: its client, or why it cannot be built (a setting missing).
pub(super) struct Enabled {
    pub kind: AppKind,
    pub client: Result<Box<dyn RequestApp>, RequestAppError>,
}

impl App {
    pub(super) fn request_apps(&self, s: &Settings) -> Result<Vec<Enabled>, AppError> {
        let opts = ClientOptions::default();
        let mut out = Vec::new();
        for kind in APPS {
            let prefix = format!("requests.{}", kind.as_str());
            if !s.bool(&format!("{prefix}.enabled")) {
                continue;
            }
            let url = s.get(&format!("{prefix}.url"));
            let client: Result<Box<dyn RequestApp>, RequestAppError> = if url.is_empty() {
                Err(RequestAppError::InvalidInput {
                    field: "url",
                    detail: format!(
                        "{kind} is enabled but has no URL: set it in Settings → Request apps"
                    ),
                })
            } else {
                match kind {
                    AppKind::Overseerr => {
                        let key = s
                            .secret(self, "requests.overseerr.api_key")?
                            .unwrap_or_default();
                        OverseerrClient::new(url, &key, &opts)
                            .map(|c| Box::new(c) as Box<dyn RequestApp>)
                    }
                    AppKind::Ombi => {
                        let key = s.secret(self, "requests.ombi.api_key")?.unwrap_or_default();
                        OmbiClient::new(url, &key, &opts)
                            .map(|c| Box::new(c) as Box<dyn RequestApp>)
                    }
                    AppKind::Petio => {
                        let password = s
                            .secret(self, "requests.petio.password")?
                            .unwrap_or_default();
                        PetioClient::new(url, s.get("requests.petio.email"), &password, &opts)
                            .map(|c| Box::new(c) as Box<dyn RequestApp>)
                    }
                }
            };
            out.push(Enabled { kind, client });
        }
        Ok(out)
    }
}
