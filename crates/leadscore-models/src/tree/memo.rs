//! A memo of tree contributions by split mask for [`super::shap`]'s per-leaf tables, and the
//! pool that lends memos to the threads explaining rows of one model.

use std::sync::{Mutex, OnceLock};

use super::Tree;
use super::columns::BlockColumns;

/// Most values a [`ContributionMemo`] keeps (16 MiB); masks met once it is full are computed
/// each time, which gives the same values.
const MEMO_VALUES: usize = 1 << 21;

/// Each tree's contributions by split mask (the bits of the splits a row goes left at, from the
/// per-leaf tables), for the trees of one model: per mask, the leaf output and one value per
/// feature the tree splits on. A batch looks up many
/// rows' masks at once in a memo larger than the cache, so the lookup has two steps that only
/// read what they need: [`ContributionMemo::candidate`] reads the index alone, and
/// [`ContributionMemo::is_entry_of`] then confirms against the entry itself, whose lines the
/// caller has read ahead meanwhile.
#[derive(Debug)]
pub(crate) struct ContributionMemo {
    /// Per tree number, the index of its entries.
    indexes: Vec<MaskIndex>,
    /// The entries one after another: the mask (its bits), then the entry's values.
    pub(super) values: Vec<f64>,
    /// Most values kept.
    capacity: usize,
    /// Scratch of [`ContributionMemo::add_contributions_of_trees`] and
    /// [`ContributionMemo::add_outputs_of_trees`]: the rows' features by column, their masks,
    /// their entries' candidate starts and their leaves' values.
    pub(super) block: BlockColumns,
    pub(super) masks: Vec<u64>,
    pub(super) found: Vec<Option<u32>>,
    leaf_values: Vec<u64>,
}

impl Default for ContributionMemo {
    fn default() -> Self {
        Self::with_capacity(MEMO_VALUES)
    }
}

impl ContributionMemo {
    /// An empty memo keeping at most `capacity` values.
    pub(super) fn with_capacity(capacity: usize) -> Self {
        Self {
            indexes: Vec::new(),
            values: Vec::new(),
            capacity: capacity.min(MEMO_VALUES),
            block: BlockColumns::default(),
            masks: Vec::new(),
            found: Vec::new(),
            leaf_values: Vec::new(),
        }
    }

    /// Adds each tree's contributions to the rows (`phis[i]` for `rows[i]`, all rows of the
    /// same length) and its outputs to `outputs`, tree by tree: the values of
    /// [`Tree::add_contributions`] row by row, in tree order.
    pub(crate) fn add_contributions_of_trees(
        &mut self,
        trees: &[Tree],
        rows: &[&[f64]],
        phis: &mut [&mut [f64]],
        outputs: &mut [f64],
    ) {
        if let ([row], [phi], [output]) = (rows, &mut *phis, &mut *outputs) {
            Tree::add_contributions_of_row_to_trees(trees, row, phi, output, self);
            return;
        }
        self.block.fill(rows);
        for (number, tree) in trees.iter().enumerate() {
            tree.add_contributions_of_rows(rows, phis, outputs, self, number);
        }
    }

    /// Adds each tree's output for each row to `sums` (`sums[i]` for `rows[i]`), tree by tree:
    /// the values of [`Tree::predict`], summed in tree order. Only the memo's scratch is used,
    /// for the rows in columns and their masks.
    pub(crate) fn add_outputs_of_trees(
        &mut self,
        trees: &[Tree],
        rows: &[&[f64]],
        sums: &mut [f64],
    ) {
        self.block.fill(rows);
        for tree in trees {
            tree.add_outputs_of_block(
                rows,
                &mut self.block,
                &mut self.masks,
                &mut self.leaf_values,
                sums,
            );
        }
    }

    /// Reads the first index slot of each (tree, mask), so that the misses overlap.
    pub(super) fn read_ahead_homes(&self, lookups: impl Iterator<Item = (usize, u64)>) {
        std::hint::black_box(lookups.fold(0u32, |sum, (tree, mask)| {
            self.indexes
                .get(tree)
                .map_or(sum, |index| sum.wrapping_add(index.home_slot(mask)))
        }));
    }

    /// Where the entry of `tree`'s mask `lefts` probably starts (its values, after the mask):
    /// the first index slot whose tag matches, to be confirmed by
    /// [`ContributionMemo::is_entry_of`].
    pub(super) fn candidate(&self, tree: usize, lefts: u64) -> Option<u32> {
        self.indexes.get(tree)?.candidate(lefts)
    }

    /// Reads a value of each cache line of each entry (start, width), 8 values to a line, so
    /// that the misses overlap.
    pub(super) fn read_ahead_entries(&self, entries: impl Iterator<Item = (u32, usize)>) {
        std::hint::black_box(entries.fold(0u64, |sum, (start, width)| {
            let entry = &self.values[start as usize - 1..start as usize + width];
            entry
                .iter()
                .step_by(8)
                .chain(entry.last())
                .fold(sum, |sum, value| sum.wrapping_add(value.to_bits()))
        }));
    }

    /// Whether the entry at `start` is the one of mask `lefts`.
    pub(super) fn is_entry_of(&self, start: u32, lefts: u64) -> bool {
        self.values[start as usize - 1].to_bits() == lefts
    }

    /// The values of the entry at `start`.
    pub(super) fn entry(&self, start: u32, width: usize) -> &[f64] {
        &self.values[start as usize..start as usize + width]
    }

    /// Where the entry of `tree`'s mask `lefts` starts, filled by `compute` if it is new;
    /// `None` when it is new and the memo is full.
    pub(super) fn remember(
        &mut self,
        tree: usize,
        lefts: u64,
        width: usize,
        compute: impl FnOnce(&mut [f64]),
    ) -> Option<u32> {
        if self.indexes.len() <= tree {
            self.indexes.resize_with(tree + 1, MaskIndex::default);
        }
        let values = &self.values;
        let index = &mut self.indexes[tree];
        if let Some(start) = index.find(lefts, |start| values[start as usize - 1].to_bits()) {
            // Met earlier in the same rows, or a candidate whose tag matched another mask's.
            return Some(start);
        }
        let start = self.values.len() + 1;
        if start + width > self.capacity {
            return None;
        }
        self.values.push(f64::from_bits(lefts));
        self.values.resize(start + width, 0.0);
        compute(&mut self.values[start..]);
        let values = &self.values;
        index.insert(lefts, start as u32, |start| {
            values[start as usize - 1].to_bits()
        });
        Some(start as u32)
    }
}

/// Open addressing from masks to entry starts: a slot holds 10 bits of the mask's hash beside
/// the start (never 0, as the mask comes first; 0 marks an empty slot), so a probe reads 4 bytes
/// per slot and no entry.
#[derive(Debug, Default)]
struct MaskIndex {
    slots: Vec<u32>,
    len: usize,
}

/// Bits of a slot holding the start: [`MEMO_VALUES`] fits.
const START_BITS: u32 = 22;
const START_MASK: u32 = (1 << START_BITS) - 1;

impl MaskIndex {
    /// The mask's hash: its first slot (`slots.len()` a power of two) and its tag.
    fn hash(&self, mask: u64) -> (usize, u32) {
        let h = (mask ^ (mask >> 31)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let tag = (h >> 54) as u32;
        let home = (h >> 22) as usize & (self.slots.len().wrapping_sub(1));
        (home, tag)
    }

    /// The content of the mask's first slot (0 when the index is empty).
    fn home_slot(&self, mask: u64) -> u32 {
        if self.slots.is_empty() {
            return 0;
        }
        self.slots[self.hash(mask).0]
    }

    /// The start in the first slot on the mask's probe whose tag matches.
    fn candidate(&self, mask: u64) -> Option<u32> {
        self.probe(mask)
            .find(|&(tag_matches, _)| tag_matches)
            .map(|(_, start)| start)
    }

    /// The start of the mask's entry, reading masks through `mask_at`.
    fn find(&self, mask: u64, mask_at: impl Fn(u32) -> u64) -> Option<u32> {
        self.probe(mask)
            .find(|&(tag_matches, start)| tag_matches && mask_at(start) == mask)
            .map(|(_, start)| start)
    }

    /// The occupied slots from the mask's first one to the first empty one: (tag matches,
    /// start).
    fn probe(&self, mask: u64) -> impl Iterator<Item = (bool, u32)> + '_ {
        let (home, tag) = if self.slots.is_empty() {
            (0, 0)
        } else {
            self.hash(mask)
        };
        let wrap = self.slots.len().wrapping_sub(1);
        (0..self.slots.len())
            .map(move |step| self.slots[(home + step) & wrap])
            .take_while(|&slot| slot != 0)
            .map(move |slot| (slot >> START_BITS == tag, slot & START_MASK))
    }

    /// Adds a new mask's start, growing to keep the index at most half full.
    fn insert(&mut self, mask: u64, start: u32, mask_at: impl Fn(u32) -> u64) {
        if (self.len + 1) * 2 > self.slots.len() {
            let larger = vec![0; (self.slots.len() * 2).max(16)];
            let old = std::mem::replace(&mut self.slots, larger);
            for slot in old.into_iter().filter(|&slot| slot != 0) {
                let start = slot & START_MASK;
                self.place(mask_at(start), start);
            }
        }
        self.place(mask, start);
        self.len += 1;
    }

    fn place(&mut self, mask: u64, start: u32) {
        let (home, tag) = self.hash(mask);
        let wrap = self.slots.len() - 1;
        let free = (0..self.slots.len())
            .map(|step| (home + step) & wrap)
            .find(|&at| self.slots[at] == 0)
            .expect("the index is at most half full");
        self.slots[free] = tag << START_BITS | start;
    }
}

/// Fewest memos a [`MemoPool`] keeps between uses; it keeps one per core when there are more
/// cores, about one per thread explaining at once.
const POOLED_MEMOS: usize = 4;

/// Memos lent to whoever explains rows of one model and handed back after: a batch's blocks
/// and a server's requests reuse what earlier ones computed without sharing a memo between
/// threads. Derived data: empty when cloned, equal to any other.
#[derive(Debug, Default)]
pub(crate) struct MemoPool(Mutex<Vec<ContributionMemo>>);

impl MemoPool {
    /// A memo to use, warm when one was handed back.
    pub(crate) fn lend(&self) -> ContributionMemo {
        self.lock().pop().unwrap_or_default()
    }

    /// Takes `memo` back for the next user, unless enough are kept already.
    pub(crate) fn hand_back(&self, memo: ContributionMemo) {
        // Asked once: the answer reads the process's cgroup files.
        static KEPT: OnceLock<usize> = OnceLock::new();
        let kept = *KEPT.get_or_init(|| {
            std::thread::available_parallelism()
                .map_or(POOLED_MEMOS, |cores| cores.get().max(POOLED_MEMOS))
        });
        let mut memos = self.lock();
        if memos.len() < kept {
            memos.push(memo);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<ContributionMemo>> {
        // A panic while a memo was lent leaves the pool itself intact.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Clone for MemoPool {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl PartialEq for MemoPool {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{LEAF, random_row, random_tree};

    #[test]
    fn remembered_contributions_are_the_computed_ones_to_the_bit() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        // Trees of up to 63 splits take the per-leaf tables; deeper ones, some with more than 64
        // splits, the recursion, which the memo passes by.
        let trees: Vec<Tree> = (0..36)
            .map(|k| random_tree(&mut rng, if k < 30 { 6 } else { 9 }, 7))
            .collect();
        let splits = |tree: &Tree| tree.feature.iter().filter(|&&f| f != LEAF).count();
        assert!(trees.iter().any(|tree| splits(tree) > 64), "a deep tree");
        // 300 rows drawn from 25 distinct ones, so that rows share masks as real rows do.
        let distinct: Vec<Vec<f64>> = (0..25).map(|_| random_row(&mut rng, 7)).collect();
        let rows: Vec<Vec<f64>> = (0..300)
            .map(|_| distinct[rng.random_range(0..distinct.len())].clone())
            .collect();
        let slices: Vec<&[f64]> = rows.iter().map(Vec::as_slice).collect();
        let mut single = vec![vec![0.0; 7]; rows.len()];
        let mut single_outputs = vec![0.0; rows.len()];
        for tree in &trees {
            for ((row, phi), output) in slices.iter().zip(&mut single).zip(&mut single_outputs) {
                *output += tree.add_contributions(row, phi);
            }
        }
        let bits = |values: &[f64]| values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        // A memo with room for everything, used twice (cold, then warm), and one that fills up
        // after a few entries: every way gives the same bits.
        for mut memo in [
            ContributionMemo::default(),
            ContributionMemo::with_capacity(40),
        ] {
            for _ in 0..2 {
                let mut phis = vec![vec![0.0; 7]; rows.len()];
                let mut outputs = vec![0.0; rows.len()];
                for chunk in 0..3 {
                    let range = chunk * 100..(chunk + 1) * 100;
                    let mut chunk_phis: Vec<&mut [f64]> = phis[range.clone()]
                        .iter_mut()
                        .map(Vec::as_mut_slice)
                        .collect();
                    memo.add_contributions_of_trees(
                        &trees,
                        &slices[range.clone()],
                        &mut chunk_phis,
                        &mut outputs[range.clone()],
                    );
                }
                assert_eq!(bits(&outputs), bits(&single_outputs));
                for (remembered, computed) in phis.iter().zip(&single) {
                    assert_eq!(bits(remembered), bits(computed));
                }
            }
            // One row at a time (a server's requests), all trees looked up together.
            for ((row, computed), &computed_output) in
                slices.iter().zip(&single).zip(&single_outputs)
            {
                let mut phi = vec![0.0; 7];
                let mut output = [0.0];
                memo.add_contributions_of_trees(&trees, &[row], &mut [&mut phi], &mut output);
                assert_eq!(bits(&phi), bits(computed));
                assert_eq!(output[0].to_bits(), computed_output.to_bits());
            }
            assert!(memo.values.len() <= memo.capacity);
            // The rows did share entries: far fewer masks were remembered than rows explained.
            let remembered: usize = memo.indexes.iter().map(|index| index.len).sum();
            assert!(remembered < 30 * rows.len() / 3, "{remembered} masks");
        }
    }
}
