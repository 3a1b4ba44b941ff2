//! Walks the recorded table lineage: the edges upstream of a table (what it was made from, and
//! what that was made from, ...) or downstream of it (what was made from it), to a depth.

use std::collections::{BTreeSet, HashSet};

use weir_catalog::LineageEdge;

/// Which way to walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Upstream,
    Downstream,
}

/// One edge met on the walk: `source` (and its type) was read to write `target`, `depth` edges
/// away from the table the walk started at.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Hop {
    pub depth: usize,
    pub source: (String, String),
    pub target: (String, String),
}

/// The distinct edges within `depth` of `start`, nearest first. Reads (edges without a target)
/// lead nowhere and are left out.
pub(crate) fn walk(
    edges: &[LineageEdge],
    start: &str,
    direction: Direction,
    depth: usize,
) -> Vec<Hop> {
    let distinct: BTreeSet<(&(String, String), &(String, String))> = edges
        .iter()
        .filter_map(|e| e.target.as_ref().map(|t| (&e.source, t)))
        .collect();
    let mut hops = vec![];
    let mut visited: HashSet<&str> = HashSet::from([start]);
    let mut frontier: HashSet<&str> = HashSet::from([start]);
    for d in 1..=depth {
        let mut next = HashSet::new();
        for (source, target) in &distinct {
            let (near, far) = match direction {
                Direction::Upstream => (target.0.as_str(), source.0.as_str()),
                Direction::Downstream => (source.0.as_str(), target.0.as_str()),
            };
            if frontier.contains(near) {
                hops.push(Hop {
                    depth: d,
                    source: (*source).clone(),
                    target: (*target).clone(),
                });
                if visited.insert(far) {
                    next.insert(far);
                }
            }
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    hops.sort();
    hops
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(source: &str, target: &str) -> LineageEdge {
        LineageEdge {
            event_time_ms: 0,
            statement_id: "s".into(),
            created_by: "ann".into(),
            source: (source.into(), "TABLE".into()),
            target: Some((target.into(), "TABLE".into())),
        }
    }

    fn pairs(hops: &[Hop]) -> Vec<(usize, &str, &str)> {
        hops.iter()
            .map(|h| (h.depth, h.source.0.as_str(), h.target.0.as_str()))
            .collect()
    }

    #[test]
    fn walks_both_ways_to_a_depth_through_cycles() {
        let edges = vec![
            edge("bronze", "silver"),
            edge("bronze", "silver"),
            edge("silver", "silver"),
            edge("silver", "gold"),
            edge("dim", "gold"),
            edge("gold", "report"),
        ];
        assert_eq!(
            pairs(&walk(&edges, "gold", Direction::Upstream, 5)),
            vec![
                (1, "dim", "gold"),
                (1, "silver", "gold"),
                (2, "bronze", "silver"),
                (2, "silver", "silver"),
            ]
        );
        assert_eq!(
            pairs(&walk(&edges, "gold", Direction::Upstream, 1)),
            vec![(1, "dim", "gold"), (1, "silver", "gold")]
        );
        assert_eq!(
            pairs(&walk(&edges, "bronze", Direction::Downstream, 3)),
            vec![
                (1, "bronze", "silver"),
                (2, "silver", "gold"),
                (2, "silver", "silver"),
                (3, "gold", "report"),
            ]
        );
    }
}
