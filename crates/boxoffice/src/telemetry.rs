use boxoffice_config::{Config, LogFormat};
use tracing_subscriber::EnvFilter;

/// Logs go to standard error; standard output is kept for what scripts read (the listen address,
/// the setup URL, JSON lines).
pub fn init(cfg: &Config) {
    let filter = EnvFilter::try_new(&cfg.log.level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match cfg.log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
