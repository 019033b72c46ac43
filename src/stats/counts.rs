//! Sufficient statistics: tallies of answers that merge, so a department subtree is the
//! sum of its children and no figure needs the answers themselves.

use serde::{Deserialize, Serialize};

use super::StatsError;

/// How many answers took each integer value of a known range (1..=k, or 0..=10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ValueCountsRepr", into = "ValueCountsRepr")]
pub struct ValueCounts {
    min: u8,
    /// `counts[i]` answers took the value `min + i`; never empty.
    counts: Vec<u64>,
}

#[derive(Serialize, Deserialize)]
struct ValueCountsRepr {
    min: u8,
    counts: Vec<u64>,
}

impl TryFrom<ValueCountsRepr> for ValueCounts {
    type Error = StatsError;

    fn try_from(repr: ValueCountsRepr) -> Result<Self, Self::Error> {
        let max = usize::from(repr.min) + repr.counts.len();
        if repr.counts.is_empty() || max > usize::from(u8::MAX) + 1 {
            return Err(StatsError::EmptyRange {
                min: repr.min,
                max: repr.min,
            });
        }
        Ok(ValueCounts {
            min: repr.min,
            counts: repr.counts,
        })
    }
}

impl From<ValueCounts> for ValueCountsRepr {
    fn from(counts: ValueCounts) -> Self {
        ValueCountsRepr {
            min: counts.min,
            counts: counts.counts,
        }
    }
}

impl ValueCounts {
    /// Empty tallies over `min..=max`.
    pub fn new(min: u8, max: u8) -> Result<ValueCounts, StatsError> {
        if min > max {
            return Err(StatsError::EmptyRange { min, max });
        }
        Ok(ValueCounts {
            min,
            counts: vec![0; usize::from(max - min) + 1],
        })
    }

    /// Empty tallies over 0..=10, the range of `enps` and `nps` answers.
    pub fn zero_to_ten() -> ValueCounts {
        ValueCounts {
            min: 0,
            counts: vec![0; 11],
        }
    }

    /// Empty tallies over 1..=max (max at least 1).
    pub(crate) fn one_to(max: u8) -> ValueCounts {
        ValueCounts {
            min: 1,
            counts: vec![0; usize::from(max.max(1))],
        }
    }

    pub fn min(&self) -> u8 {
        self.min
    }

    pub fn max(&self) -> u8 {
        // The constructors keep min + len - 1 within u8.
        self.min + (self.counts.len() - 1) as u8
    }

    /// One more answer of `value`.
    pub fn add(&mut self, value: u8) -> Result<(), StatsError> {
        self.add_count(value, 1)
    }

    /// `count` more answers of `value` (e.g. a row of a `GROUP BY value` query).
    pub fn add_count(&mut self, value: u8, count: u64) -> Result<(), StatsError> {
        let out_of_range = StatsError::ValueOutOfRange {
            value,
            min: self.min,
            max: self.max(),
        };
        let slot = self.slot(value).ok_or(out_of_range)?;
        *slot = slot.saturating_add(count);
        Ok(())
    }

    /// Adds `other`'s tallies, which must cover the same range.
    pub fn merge(&mut self, other: &ValueCounts) -> Result<(), StatsError> {
        self.check_range(other.min, other.max())?;
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine = mine.saturating_add(*theirs);
        }
        Ok(())
    }

    /// Number of answers.
    pub fn n(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Answers that took `value` (0 outside the range).
    pub fn count(&self, value: u8) -> u64 {
        value
            .checked_sub(self.min)
            .and_then(|i| self.counts.get(usize::from(i)))
            .copied()
            .unwrap_or(0)
    }

    /// Answers whose value is one of `values`.
    pub fn count_in(&self, values: &[u8]) -> u64 {
        self.iter()
            .filter(|(value, _)| values.contains(value))
            .map(|(_, count)| count)
            .sum()
    }

    /// Every value of the range with its count, zeros included, in value order.
    pub fn iter(&self) -> impl Iterator<Item = (u8, u64)> + '_ {
        (self.min..=self.max()).zip(self.counts.iter().copied())
    }

    /// Sum of all answers.
    pub fn sum(&self) -> u128 {
        self.iter()
            .map(|(value, count)| u128::from(value) * u128::from(count))
            .sum()
    }

    /// Sum of the squares of all answers.
    pub fn sum_of_squares(&self) -> u128 {
        self.iter()
            .map(|(value, count)| u128::from(value) * u128::from(value) * u128::from(count))
            .sum()
    }

    /// Mean answer; `None` without answers.
    pub fn mean(&self) -> Option<f64> {
        let n = self.n();
        (n > 0).then(|| self.sum() as f64 / n as f64)
    }

    /// Sample variance (divisor n - 1); `None` below two answers.
    pub fn variance(&self) -> Option<f64> {
        let n = self.n();
        if n < 2 {
            return None;
        }
        // n·Σv² - (Σv)² is exact in integers: all-equal answers give exactly 0.
        let sum = self.sum();
        let exact = u128::from(n)
            .checked_mul(self.sum_of_squares())
            .zip(sum.checked_mul(sum))
            .map(|(a, b)| a.saturating_sub(b) as f64);
        let spread = match exact {
            Some(spread) => spread,
            None => {
                let mean = sum as f64 / n as f64;
                let squares: f64 = self
                    .iter()
                    .map(|(value, count)| count as f64 * (f64::from(value) - mean).powi(2))
                    .sum();
                squares * n as f64
            }
        };
        Some(spread / (n as f64 * (n - 1) as f64))
    }

    pub(crate) fn check_range(&self, min: u8, max: u8) -> Result<(), StatsError> {
        if (self.min, self.max()) == (min, max) {
            Ok(())
        } else {
            Err(StatsError::RangeMismatch {
                expected_min: self.min,
                expected_max: self.max(),
                found_min: min,
                found_max: max,
            })
        }
    }

    fn slot(&mut self, value: u8) -> Option<&mut u64> {
        let i = value.checked_sub(self.min)?;
        self.counts.get_mut(usize::from(i))
    }
}

/// Answers to one choice question: respondents who answered, and how many chose each
/// option (a respondent choosing several options counts once for each).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ChoiceCountsRepr", into = "ChoiceCountsRepr")]
pub struct ChoiceCounts {
    multiple: bool,
    respondents: u64,
    counts: Vec<u64>,
}

#[derive(Serialize, Deserialize)]
struct ChoiceCountsRepr {
    multiple: bool,
    respondents: u64,
    counts: Vec<u64>,
}

impl TryFrom<ChoiceCountsRepr> for ChoiceCounts {
    type Error = StatsError;

    fn try_from(repr: ChoiceCountsRepr) -> Result<Self, Self::Error> {
        ChoiceCounts::from_tallies(repr.multiple, repr.respondents, repr.counts)
    }
}

impl From<ChoiceCounts> for ChoiceCountsRepr {
    fn from(counts: ChoiceCounts) -> Self {
        ChoiceCountsRepr {
            multiple: counts.multiple,
            respondents: counts.respondents,
            counts: counts.counts,
        }
    }
}

impl ChoiceCounts {
    /// No answers yet to a question with `options` options.
    pub fn new(options: usize, multiple: bool) -> Result<ChoiceCounts, StatsError> {
        if options == 0 {
            return Err(StatsError::NoOptions);
        }
        Ok(ChoiceCounts {
            multiple,
            respondents: 0,
            counts: vec![0; options],
        })
    }

    /// Tallies counted elsewhere (e.g. by the database). Every option count is at most the
    /// respondents; a single-choice question's counts add up to the respondents, a
    /// multiple-choice question's to at least that.
    pub fn from_tallies(
        multiple: bool,
        respondents: u64,
        counts: Vec<u64>,
    ) -> Result<ChoiceCounts, StatsError> {
        if counts.is_empty() {
            return Err(StatsError::NoOptions);
        }
        let total = counts
            .iter()
            .try_fold(0u64, |total, count| total.checked_add(*count));
        let consistent = counts.iter().all(|count| *count <= respondents)
            && match total {
                Some(total) if multiple => total >= respondents,
                Some(total) => total == respondents,
                None => false,
            };
        if !consistent {
            return Err(StatsError::InconsistentChoiceTallies { respondents });
        }
        Ok(ChoiceCounts {
            multiple,
            respondents,
            counts,
        })
    }

    /// One respondent's answer: the indices of the options chosen. An empty selection is
    /// no answer and changes nothing; an option chosen twice counts once.
    pub fn add(&mut self, selected: &[usize]) -> Result<(), StatsError> {
        let options = self.counts.len();
        if let Some(&option) = selected.iter().find(|&&option| option >= options) {
            return Err(StatsError::OptionOutOfRange { option, options });
        }
        let mut chosen = selected.to_vec();
        chosen.sort_unstable();
        chosen.dedup();
        if chosen.is_empty() {
            return Ok(());
        }
        if !self.multiple && chosen.len() > 1 {
            return Err(StatsError::SeveralChoices(chosen.len()));
        }
        self.respondents = self.respondents.saturating_add(1);
        for option in chosen {
            if let Some(count) = self.counts.get_mut(option) {
                *count = count.saturating_add(1);
            }
        }
        Ok(())
    }

    /// Adds `other`'s tallies, which must be of a question of the same shape.
    pub fn merge(&mut self, other: &ChoiceCounts) -> Result<(), StatsError> {
        if other.counts.len() != self.counts.len() || other.multiple != self.multiple {
            return Err(StatsError::OptionCountMismatch {
                expected: self.counts.len(),
                found: other.counts.len(),
            });
        }
        self.respondents = self.respondents.saturating_add(other.respondents);
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine = mine.saturating_add(*theirs);
        }
        Ok(())
    }

    /// Respondents who answered the question.
    pub fn respondents(&self) -> u64 {
        self.respondents
    }

    pub fn is_multiple(&self) -> bool {
        self.multiple
    }

    /// Per option, in the definition's order, how many chose it.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }
}

/// Sums over respondents who answered both a question (x) and the outcome (y): enough for
/// Pearson's r.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairSums {
    pub n: u64,
    pub sx: u64,
    pub sy: u64,
    pub sxx: u64,
    pub syy: u64,
    pub sxy: u64,
}

impl PairSums {
    /// One respondent who answered x to the question and y to the outcome.
    pub fn add(&mut self, x: u8, y: u8) {
        let (x, y) = (u64::from(x), u64::from(y));
        self.merge(&PairSums {
            n: 1,
            sx: x,
            sy: y,
            sxx: x * x,
            syy: y * y,
            sxy: x * y,
        });
    }

    pub fn merge(&mut self, other: &PairSums) {
        self.n = self.n.saturating_add(other.n);
        self.sx = self.sx.saturating_add(other.sx);
        self.sy = self.sy.saturating_add(other.sy);
        self.sxx = self.sxx.saturating_add(other.sxx);
        self.syy = self.syy.saturating_add(other.syy);
        self.sxy = self.sxy.saturating_add(other.sxy);
    }
}
