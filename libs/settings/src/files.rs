//! Settings given as files: a Kubernetes Secret mounted as a volume keeps the value out of the
//! process environment (and out of `kubectl describe`), so every `KOMEK__...` variable may instead
//! be given as `KOMEK__..._FILE`, naming the file that holds the value.

use std::collections::HashMap;

use crate::SettingsError;

const PREFIX: &str = "KOMEK__";
const FILE_SUFFIX: &str = "_FILE";

/// The plain variables (for `config::Environment`) and the `(dotted key, value)` pairs read from
/// files.
type Split = (HashMap<String, String>, Vec<(String, String)>);

/// Splits the process environment into the plain `KOMEK__` variables (for `config::Environment`)
/// and the settings read from `_FILE` variables, as `(dotted key, value)`.
pub(crate) fn split_vars(
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<Split, SettingsError> {
    let mut plain = HashMap::new();
    let mut files = Vec::new();
    for (name, value) in vars {
        match name
            .strip_prefix(PREFIX)
            .and_then(|n| n.strip_suffix(FILE_SUFFIX))
        {
            Some(setting) => files.push((setting.to_owned(), value)),
            None => {
                plain.insert(name, value);
            }
        }
    }
    let mut read = Vec::with_capacity(files.len());
    for (setting, path) in files {
        let key = setting.to_lowercase().replace("__", ".");
        if plain.contains_key(&format!("{PREFIX}{setting}")) {
            return Err(SettingsError::Twice(key));
        }
        let text = std::fs::read_to_string(&path).map_err(|source| SettingsError::SecretFile {
            key: key.clone(),
            path: path.clone(),
            source,
        })?;
        // Secret files written by `kubectl create secret --from-file` or an editor often end in a
        // newline that is not part of the value.
        let value = text
            .strip_suffix('\n')
            .map(|v| v.strip_suffix('\r').unwrap_or(v))
            .unwrap_or(&text)
            .to_owned();
        read.push((key, value));
    }
    Ok((plain, read))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn file_variables_become_settings() {
        let dir = std::env::temp_dir().join(format!("komek-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let secret = dir.join("secret");
        std::fs::write(&secret, "from-a-file-0123456789-0123456789\n").unwrap();
        let (plain, read) = split_vars(vars(&[
            ("KOMEK__AUTH__JWT_SECRET_FILE", secret.to_str().unwrap()),
            ("KOMEK__REDIS__PREFIX", "p"),
            ("KOMEK_CONFIG_FILE", "/etc/komek/komek.toml"),
        ]))
        .unwrap();
        assert_eq!(
            read,
            [(
                "auth.jwt_secret".to_owned(),
                "from-a-file-0123456789-0123456789".to_owned()
            )]
        );
        assert!(plain.contains_key("KOMEK__REDIS__PREFIX"));
        assert!(plain.contains_key("KOMEK_CONFIG_FILE"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_file_or_both_forms_are_refused() {
        let err = split_vars(vars(&[("KOMEK__SMS__PASSWORD_FILE", "/nonexistent/x")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("setting sms.password: cannot read /nonexistent/x"),
            "{err}"
        );
        let err = split_vars(vars(&[
            ("KOMEK__SMS__PASSWORD_FILE", "/nonexistent/x"),
            ("KOMEK__SMS__PASSWORD", "p"),
        ]))
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "setting sms.password: set either the variable or its _FILE variant, not both"
        );
    }
}
