//! A block of rows as the boosted model's explanation reads them: feature values by column, and
//! the category bits that small category sets are tested against.

/// Bit of a small category set (every code below 63) standing for a missing value.
pub(super) const MISSING_BIT: u64 = 1 << 63;

/// The bit of `x` in a small category set, without branches: bit `code` for a present code
/// below 63, [`MISSING_BIT`] for a missing value, none for a larger code (never in such a set).
/// The cast saturates as in [`super::Tree::goes_left`].
#[inline]
pub(super) fn category_bit(x: f64) -> u64 {
    let code = x as u32;
    let present = u64::from(code < 63) << (code & 63);
    if x.is_nan() { MISSING_BIT } else { present }
}

/// The feature values of a block of rows by column, and the [`category_bit`]s of the columns
/// that category splits test, computed once per block for all trees.
#[derive(Debug, Default)]
pub(super) struct BlockColumns {
    values: Vec<f64>,
    rows: usize,
    category_bits: Vec<u64>,
    /// Per column, whether its category bits are in `category_bits` yet.
    has_bits: Vec<bool>,
}

impl BlockColumns {
    /// Takes the rows of a new block, all of the same length.
    pub(super) fn fill(&mut self, rows: &[&[f64]]) {
        let width = rows.first().map_or(0, |row| row.len());
        self.rows = rows.len();
        self.values.clear();
        self.values.resize(width * rows.len(), 0.0);
        for (r, row) in rows.iter().enumerate() {
            for (feature, &value) in row.iter().enumerate() {
                self.values[feature * rows.len() + r] = value;
            }
        }
        self.has_bits.clear();
        self.has_bits.resize(width, false);
        self.category_bits.resize(width * rows.len(), 0);
    }

    /// Rows of the block.
    pub(super) fn rows(&self) -> usize {
        self.rows
    }

    /// The block's values of feature `feature`.
    pub(super) fn column(&self, feature: u32) -> &[f64] {
        &self.values[feature as usize * self.rows..][..self.rows]
    }

    /// The [`category_bit`]s of feature `feature`'s values, computed at the first call per block.
    pub(super) fn category_bits(&mut self, feature: u32) -> &[u64] {
        let range = feature as usize * self.rows..(feature as usize + 1) * self.rows;
        if !self.has_bits[feature as usize] {
            self.has_bits[feature as usize] = true;
            for (bit, &x) in self.category_bits[range.clone()]
                .iter_mut()
                .zip(&self.values[range.clone()])
            {
                *bit = category_bit(x);
            }
        }
        &self.category_bits[range]
    }
}
