use crate::config::Config;
use crate::keys::KEYS;

impl Config {
    /// The effective configuration as TOML, secrets shown as `"<redacted>"` and unset optional
    /// keys as comments, for `boxoffice config check`. The output parses back as TOML.
    pub fn render_redacted(&self) -> String {
        let mut top = String::new();
        let mut sections: Vec<(&str, String)> = Vec::new();
        for key in KEYS {
            let (section, name) = match key.path.rsplit_once('.') {
                Some((section, name)) => (Some(section), name),
                None => (None, key.path),
            };
            // Secrets render as "<redacted>" through their own type, so nothing is masked here.
            let line = match (key.render)(self) {
                Some(value) => format!("{name} = {value}\n"),
                None => format!("# {name} is not set\n"),
            };
            match section {
                None => top.push_str(&line),
                Some(section) => match sections.iter_mut().find(|(known, _)| *known == section) {
                    Some((_, body)) => body.push_str(&line),
                    None => sections.push((section, line)),
                },
            }
        }
        // TOML puts a key after a table header into that table, so top-level keys come first.
        for (section, body) in sections {
            top.push_str(&format!("\n[{section}]\n{body}"));
        }
        top
    }
}
