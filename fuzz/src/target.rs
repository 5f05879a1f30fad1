//! What the driver needs of one decoder: its name, the valid encodings its
//! corpus starts from (made by the matching encoders), the decoder itself, and
//! words worth splicing in. The decoders are the project's; the targets only
//! call them.

/// Makes a target's seeds.
pub type Seeds = fn() -> Vec<Vec<u8>>;
/// Runs a target's decoder: `true` when the input decoded.
pub type Decode = fn(&[u8]) -> bool;

#[derive(Clone, Copy)]
pub struct Target {
    pub name: &'static str,
    /// What the target decodes, for `--list`.
    pub about: &'static str,
    /// Valid encodings, written to the committed corpus by `--write-corpus`.
    pub seeds: Seeds,
    /// Runs the decoder on one input: `true` when it decoded.
    pub decode: Decode,
    /// Words the mutator may insert (keywords of a text format).
    pub dictionary: &'static [&'static [u8]],
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target").field("name", &self.name).finish()
    }
}
