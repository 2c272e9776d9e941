//! Disclosure control for one queue's statistics: which numbers are withheld.
//!
//! **Primary suppression**: a count of 1 to [`MINIMUM_COUNT`]` − 1` persons is withheld.
//! **Complementary suppression**: the numbers of one queue are tied by equations an outsider
//! knows, and a withheld number must not be computable from them:
//! - *municipalities*: for each month and count, the queue's number is the sum of its
//!   municipalities' numbers (near enough: a person counted under two municipalities
//!   counts once in the queue's);
//! - *stock and flow*: for each row (the queue, or one municipality's part of it) and month,
//!   waiting at the month's end = waiting at the previous month's end + admitted − granted −
//!   removed (near enough again: we treat it as exact).
//!
//! An equation with exactly one withheld number gives that number away, so another of its
//! numbers is withheld as well — the one that sets off the fewest further complements, then
//! the smallest non-zero one (least information lost), else a zero — until no equation has
//! exactly one. Every month of the register is decided at
//! once, when the register is imported, so the same number is withheld in every answer
//! whatever its period or filters: answers cannot be played against each other.
//!
//! One withheld number per equation is not the only way in: a combination of equations can
//! pin a number down too. So after the complements, the equations are solved for the withheld
//! numbers (sparse Gauss–Jordan elimination) and each number they determine gets a further
//! complement, until none is determined. What this guarantees is that no withheld number
//! follows from the published ones through these equations (`tests/statistics.rs` tries
//! independently, by elimination over both answers). It does
//! not bound how narrowly an interval can be inferred (a withheld cell next to a published
//! total of 7, say); the marker does not say whether a number was withheld for being small
//! or as a complement, which keeps such intervals wide.

/// Counts of fewer persons than this (and more than 0) are never published.
pub const MINIMUM_COUNT: u32 = 5;

/// One queue's numbers: `grains` rows (0: the whole queue, 1…: one municipality's part) ×
/// `months` × the seven measures (`model::Measure` order), row-major.
pub(crate) struct Grid {
    pub grains: usize,
    pub months: usize,
    pub values: Vec<u32>,
    pub suppressed: Vec<bool>,
}

const MEASURES: usize = 7;
const WAITING: usize = crate::model::Measure::Waiting as usize;
const ADMITTED: usize = crate::model::Measure::Admitted as usize;
const GRANTED: usize = crate::model::Measure::Granted as usize;
const REMOVED: usize = crate::model::Measure::Removed as usize;

impl Grid {
    pub fn new(grains: usize, months: usize) -> Grid {
        let size = grains * months * MEASURES;
        Grid { grains, months, values: vec![0; size], suppressed: vec![false; size] }
    }

    pub fn index(&self, grain: usize, month: usize, measure: usize) -> usize {
        (grain * self.months + month) * MEASURES + measure
    }

    /// Withholds what must be withheld: the small counts, then their complements, until no
    /// withheld number can be computed from the published ones.
    pub fn protect(&mut self) {
        for (value, suppressed) in self.values.iter().zip(self.suppressed.iter_mut()) {
            *suppressed = (1..MINIMUM_COUNT).contains(value);
        }
        let equations = self.equations();
        // The equations each cell is in, to judge what withholding it would set off.
        let mut containing: Vec<Vec<usize>> = vec![Vec::new(); self.values.len()];
        for (e, members) in equations.iter().enumerate() {
            for &(i, _) in members {
                containing[i].push(e);
            }
        }
        loop {
            self.complement_single_unknowns(&equations, &containing);
            // One unknown per equation is the common case; a combination of equations can
            // still pin a number down. Each such number gets a further complement.
            let determined = self.determined(&equations);
            if determined.is_empty() {
                break;
            }
            for cell in determined {
                let equation = self.nearest_equation_with_a_published_member(cell, &equations, &containing);
                if let Some(e) = equation {
                    if let Some(i) = self.best_complement(e, &equations, &containing) {
                        self.suppressed[i] = true;
                    }
                }
            }
        }
    }

    /// Complements every equation with exactly one withheld number, until none has.
    fn complement_single_unknowns(&mut self, equations: &[Vec<(usize, f64)>], containing: &[Vec<usize>]) {
        loop {
            let mut changed = false;
            for e in 0..equations.len() {
                if self.withheld_in(&equations[e]) != 1 {
                    continue;
                }
                if let Some(i) = self.best_complement(e, equations, containing) {
                    self.suppressed[i] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    fn withheld_in(&self, members: &[(usize, f64)]) -> usize {
        members.iter().filter(|&&(i, _)| self.suppressed[i]).count()
    }

    /// The published member of equation `e` to withhold: the one that leaves the fewest other
    /// equations with exactly one withheld number (each would need a complement of its own —
    /// withholding a waiting count would otherwise roll on month after month); among those
    /// the smallest non-zero number, else a zero.
    fn best_complement(&self, e: usize, equations: &[Vec<(usize, f64)>], containing: &[Vec<usize>]) -> Option<usize> {
        equations[e].iter().map(|&(i, _)| i).filter(|&i| !self.suppressed[i]).min_by_key(|&i| {
            let knock_on: i64 = containing[i]
                .iter()
                .filter(|&&other| other != e)
                .map(|&other| match self.withheld_in(&equations[other]) {
                    0 => 1,
                    1 => -1,
                    _ => 0,
                })
                .sum();
            (knock_on, self.values[i] == 0, self.values[i])
        })
    }

    /// An equation holding `cell`, or reached from it through withheld cells, that still has
    /// a published member.
    fn nearest_equation_with_a_published_member(&self, cell: usize, equations: &[Vec<(usize, f64)>], containing: &[Vec<usize>]) -> Option<usize> {
        let mut seen_cells = std::collections::HashSet::from([cell]);
        let mut seen_equations = std::collections::HashSet::new();
        let mut queue = std::collections::VecDeque::from([cell]);
        while let Some(next) = queue.pop_front() {
            for &e in &containing[next] {
                if !seen_equations.insert(e) {
                    continue;
                }
                if equations[e].iter().any(|&(i, _)| !self.suppressed[i]) {
                    return Some(e);
                }
                for &(i, _) in &equations[e] {
                    if seen_cells.insert(i) {
                        queue.push_back(i);
                    }
                }
            }
        }
        None
    }

    /// The equations an outsider knows, each as the cells it ties together with their
    /// coefficients (the published numbers' sum is the right-hand side, which does not
    /// matter for what can be determined).
    pub fn equations(&self) -> Vec<Vec<(usize, f64)>> {
        let mut equations = Vec::new();
        if self.grains > 1 {
            for month in 0..self.months {
                for measure in 0..MEASURES {
                    equations.push((0..self.grains).map(|grain| (self.index(grain, month, measure), if grain == 0 { 1.0 } else { -1.0 })).collect());
                }
            }
        }
        for grain in 0..self.grains {
            for month in 0..self.months {
                let mut members = Vec::with_capacity(5);
                if month > 0 {
                    members.push((self.index(grain, month - 1, WAITING), -1.0));
                }
                members.push((self.index(grain, month, WAITING), 1.0));
                members.push((self.index(grain, month, ADMITTED), -1.0));
                members.push((self.index(grain, month, GRANTED), 1.0));
                members.push((self.index(grain, month, REMOVED), 1.0));
                equations.push(members);
            }
        }
        equations
    }

    /// The withheld cells the equations determine: elimination over the withheld cells (the
    /// published ones known), a cell being determined when a fully reduced row holds it alone.
    pub fn determined(&self, equations: &[Vec<(usize, f64)>]) -> Vec<usize> {
        let mut reduced = Reduced::default();
        for members in equations {
            let row: Vec<(usize, f64)> = members.iter().copied().filter(|&(cell, _)| self.suppressed[cell]).collect();
            reduced.insert(row);
        }
        reduced.singletons()
    }
}

/// Rows in reduced row-echelon form, sparse, built one row at a time (Gauss–Jordan): every
/// pivot column appears in its own row only.
#[derive(Default)]
struct Reduced {
    rows: Vec<Vec<(usize, f64)>>,
    pivot_row: std::collections::HashMap<usize, usize>,
    rows_with: std::collections::HashMap<usize, std::collections::BTreeSet<usize>>,
}

const EPSILON: f64 = 1e-9;

/// `a + factor × b`, both sorted by column, dropping what cancels.
fn add_scaled(a: &[(usize, f64)], b: &[(usize, f64)], factor: f64) -> Vec<(usize, f64)> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let (column, value) = match (a.get(i), b.get(j)) {
            (Some(&(ca, va)), Some(&(cb, vb))) if ca == cb => {
                i += 1;
                j += 1;
                (ca, va + factor * vb)
            }
            (Some(&(ca, va)), Some(&(cb, _))) if ca < cb => {
                i += 1;
                (ca, va)
            }
            (Some(&(ca, va)), None) => {
                i += 1;
                (ca, va)
            }
            (_, Some(&(cb, vb))) => {
                j += 1;
                (cb, factor * vb)
            }
            (None, None) => break,
        };
        if value.abs() > EPSILON {
            out.push((column, value));
        }
    }
    out
}

impl Reduced {
    fn insert(&mut self, mut row: Vec<(usize, f64)>) {
        row.sort_unstable_by_key(|&(column, _)| column);
        // Merge repeated columns.
        row.dedup_by(|next, kept| {
            if next.0 == kept.0 {
                kept.1 += next.1;
                true
            } else {
                false
            }
        });
        row.retain(|&(_, v)| v.abs() > EPSILON);
        while let Some(&(column, value)) = row.iter().find(|(column, _)| self.pivot_row.contains_key(column)) {
            let pivot = &self.rows[self.pivot_row[&column]];
            row = add_scaled(&row, pivot, -value);
        }
        let Some(&(pivot_column, lead)) = row.first() else { return };
        for entry in row.iter_mut() {
            entry.1 /= lead;
        }
        // Clear the new pivot's column from every other row.
        let index = self.rows.len();
        for other in self.rows_with.get(&pivot_column).cloned().unwrap_or_default() {
            let Some(&(_, value)) = self.rows[other].iter().find(|&&(c, _)| c == pivot_column) else { continue };
            let before: Vec<usize> = self.rows[other].iter().map(|&(c, _)| c).collect();
            let after = add_scaled(&self.rows[other], &row, -value);
            for column in before {
                if let Some(set) = self.rows_with.get_mut(&column) {
                    set.remove(&other);
                }
            }
            for &(column, _) in &after {
                self.rows_with.entry(column).or_default().insert(other);
            }
            self.rows[other] = after;
        }
        for &(column, _) in &row {
            self.rows_with.entry(column).or_default().insert(index);
        }
        self.pivot_row.insert(pivot_column, index);
        self.rows.push(row);
    }

    /// The columns whose row holds them alone: their values follow from the rest.
    fn singletons(&self) -> Vec<usize> {
        self.rows.iter().filter(|row| row.len() == 1).map(|row| row[0].0).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_counts_are_withheld_and_zeros_are_not() {
        let mut grid = Grid::new(1, 1);
        grid.values[ADMITTED] = 4;
        grid.values[GRANTED] = 5;
        grid.values[2] = 0;
        grid.protect();
        assert!(grid.suppressed[ADMITTED]);
        assert!(!grid.suppressed[2], "0 is published");
        // Waiting = 0 + 4 − 5 − removed: the admitted 4 would follow from the others, so a
        // complement is withheld too.
        assert_eq!(grid.withheld_in(&grid.equations()[0]), 2);
    }

    #[test]
    fn no_withheld_number_follows_from_the_published_ones_in_random_queues() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |below: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % below
        };
        for round in 0..300 {
            let (grains, months) = (1 + next(4) as usize, 1 + next(6) as usize);
            let mut grid = Grid::new(grains, months);
            // Mostly small numbers, some zeros, a few large ones; the queue's row the sum.
            for grain in 1..grains.max(2) {
                for month in 0..months {
                    for measure in 0..MEASURES {
                        let value = match next(10) {
                            0..=3 => 0,
                            4..=7 => 1 + next(6) as u32,
                            _ => 5 + next(20) as u32,
                        };
                        let g = if grains == 1 { 0 } else { grain };
                        let i = grid.index(g, month, measure);
                        grid.values[i] = value;
                    }
                }
            }
            if grains > 1 {
                for month in 0..months {
                    for measure in 0..MEASURES {
                        let total: u32 = (1..grains).map(|g| grid.values[grid.index(g, month, measure)]).sum();
                        let i = grid.index(0, month, measure);
                        grid.values[i] = total;
                    }
                }
            }
            grid.protect();
            assert_eq!(grid.determined(&grid.equations()), Vec::<usize>::new(), "round {round}: {grains} rows × {months} months");
            let single = grid.equations().iter().filter(|members| grid.withheld_in(members) == 1).count();
            assert_eq!(single, 0, "round {round}");
        }
    }

    #[test]
    fn a_single_withheld_municipality_gets_a_complement() {
        // The queue and three municipalities, one month: admitted 12 = 9 + 3 + 0.
        let mut grid = Grid::new(4, 1);
        for (grain, value) in [(0, 12), (1, 9), (2, 3), (3, 0)] {
            let i = grid.index(grain, 0, ADMITTED);
            grid.values[i] = value;
        }
        grid.protect();
        let withheld: Vec<usize> = (0..4).filter(|&g| grid.suppressed[grid.index(g, 0, ADMITTED)]).collect();
        assert!(withheld.len() >= 2 && withheld.contains(&2), "{withheld:?}");
    }
}
