use crate::config::Config;
use crate::keys::KEYS;

/// The Markdown table of every key, as it appears in CONFIG.md and the README. Generated from
/// the key declaration so a test can catch the document falling behind the code.
pub fn reference_table() -> String {
    let defaults = Config::default();
    let mut table = String::from(
        "| Key | Environment variable | Default | Meaning |\n| --- | --- | --- | --- |\n",
    );
    for key in KEYS {
        let mut names = vec![format!("`{}`", key.path)];
        names.extend(key.file_key().map(|name| format!("`{name}`")));
        let mut vars = vec![format!("`{}`", key.env_var())];
        vars.extend(key.file_env_var().map(|name| format!("`{name}`")));
        vars.extend(key.aliases().map(|name| format!("`{name}`")));
        let default = match (key.render)(&defaults) {
            // Shown bare: the quotes TOML needs around strings would mislead environment users.
            Some(toml::Value::String(text)) => format!("`{text}`"),
            Some(value) => format!("`{value}`"),
            None => "unset".to_owned(),
        };
        table.push_str(&format!(
            "| {} | {} | {default} | {} |\n",
            names.join(", "),
            vars.join(", "),
            key.meaning
        ));
    }
    table
}
