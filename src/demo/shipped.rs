//! The survey definitions shipped in `survey-definitions/`, compiled into the binary so
//! that an installed `icsat demo` works from any folder.

use std::path::{Path, PathBuf};

/// File name and text of each shipped definition (and the service catalogue).
pub const DEFINITIONS: &[(&str, &str)] = &[
    (
        "enps-pulse.toml",
        include_str!("../../survey-definitions/enps-pulse.toml"),
    ),
    (
        "internal-services.toml",
        include_str!("../../survey-definitions/internal-services.toml"),
    ),
    (
        "it-pulse.toml",
        include_str!("../../survey-definitions/it-pulse.toml"),
    ),
    (
        "services.toml",
        include_str!("../../survey-definitions/services.toml"),
    ),
];

/// Writes the shipped definitions into `dir` (created if missing; the files rewritten)
/// and returns it.
pub fn write_to(dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    for (name, text) in DEFINITIONS {
        std::fs::write(dir.join(name), text)?;
    }
    Ok(dir.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A definition added to the folder must be added here too.
    #[test]
    fn every_shipped_definition_is_embedded() {
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("survey-definitions");
        let mut on_disk: Vec<String> = std::fs::read_dir(folder)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".toml"))
            .collect();
        on_disk.sort();
        let embedded: Vec<&str> = DEFINITIONS.iter().map(|(n, _)| *n).collect();
        assert_eq!(on_disk, embedded);
    }
}
