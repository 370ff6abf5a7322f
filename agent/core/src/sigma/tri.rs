//! Three-valued (Kleene) truth for fields that may be cut short by the sensor (argv beyond the
//! kernel's capture, paths at the buffer length): a pattern the visible prefix cannot decide is
//! `Unknown`, the condition is evaluated in Kleene logic, and a rule fires only on `True`. So a
//! truncated value can make a rule miss, never fire where the full value would not (an
//! `endswith` on a cut command line, or a `not filter` whose text lies past the cut).

/// Kleene truth value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tri {
    False,
    Unknown,
    True,
}

impl Tri {
    pub fn from_bool(b: bool) -> Self {
        if b { Tri::True } else { Tri::False }
    }

    pub fn and(self, o: Tri) -> Tri {
        match (self, o) {
            (Tri::False, _) | (_, Tri::False) => Tri::False,
            (Tri::True, Tri::True) => Tri::True,
            _ => Tri::Unknown,
        }
    }

    pub fn or(self, o: Tri) -> Tri {
        match (self, o) {
            (Tri::True, _) | (_, Tri::True) => Tri::True,
            (Tri::False, Tri::False) => Tri::False,
            _ => Tri::Unknown,
        }
    }

    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Tri {
        match self {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            Tri::Unknown => Tri::Unknown,
        }
    }

    /// Kleene AND over an iterator (True when empty); stops at the first False.
    pub fn all(it: impl IntoIterator<Item = Tri>) -> Tri {
        let mut acc = Tri::True;
        for t in it {
            acc = acc.and(t);
            if acc == Tri::False {
                break;
            }
        }
        acc
    }

    /// Kleene OR over an iterator (False when empty); stops at the first True.
    pub fn any(it: impl IntoIterator<Item = Tri>) -> Tri {
        let mut acc = Tri::False;
        for t in it {
            acc = acc.or(t);
            if acc == Tri::True {
                break;
            }
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::Tri::{self, *};

    #[test]
    fn kleene_tables() {
        assert_eq!(True.and(Unknown), Unknown);
        assert_eq!(False.and(Unknown), False);
        assert_eq!(True.or(Unknown), True);
        assert_eq!(False.or(Unknown), Unknown);
        assert_eq!(Unknown.not(), Unknown);
        assert_eq!(Tri::all([True, Unknown, True]), Unknown);
        assert_eq!(Tri::any([False, Unknown]), Unknown);
        assert_eq!(Tri::all([]), True);
        assert_eq!(Tri::any([]), False);
    }
}
