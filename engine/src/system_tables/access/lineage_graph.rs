//! Walks the recorded table lineage: the edges upstream of a table (what it was made from, and
//! what that was made from, ...) or downstream of it (what was made from it), to a depth.

use std::collections::{BTreeSet, HashSet};
use std::hash::Hash;

use weir_catalog::{ColumnEdge, LineageEdge};

/// Which way to walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Upstream,
    Downstream,
}

/// One edge met on the walk: `source` was read to write `target` (tables, or columns of
/// tables), `depth` edges away from where the walk started; `about` is what else the edge
/// records (the objects' types, a column's transformation).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Hop<N, A> {
    pub depth: usize,
    pub source: N,
    pub target: N,
    pub about: A,
}

/// The distinct edges within `depth` of `start`, nearest first. `edges` are
/// `(source, target, about)`.
pub(crate) fn walk<N, A>(
    edges: impl IntoIterator<Item = (N, N, A)>,
    start: &N,
    direction: Direction,
    depth: usize,
) -> Vec<Hop<N, A>>
where
    N: Ord + Hash + Clone,
    A: Ord + Clone,
{
    let distinct: BTreeSet<(N, N, A)> = edges.into_iter().collect();
    let mut hops = vec![];
    let mut visited: HashSet<&N> = HashSet::from([start]);
    let mut frontier: HashSet<&N> = HashSet::from([start]);
    for d in 1..=depth {
        let mut next = HashSet::new();
        for (source, target, about) in &distinct {
            let (near, far) = match direction {
                Direction::Upstream => (target, source),
                Direction::Downstream => (source, target),
            };
            if frontier.contains(near) {
                hops.push(Hop {
                    depth: d,
                    source: source.clone(),
                    target: target.clone(),
                    about: about.clone(),
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

/// The table edges of the recorded lineage, for [`walk`]: reads (edges without a target) lead
/// nowhere and are left out. `about` is the source's and the target's types.
pub(crate) fn table_edges(
    edges: Vec<LineageEdge>,
) -> impl Iterator<Item = (String, String, (String, String))> {
    edges.into_iter().filter_map(|e| {
        e.target
            .map(|(target, target_type)| (e.source.0, target, (e.source.1, target_type)))
    })
}

/// What a column edge records besides its ends.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ColumnHop {
    pub source_type: String,
    pub target_type: String,
    pub transformation_type: String,
    pub transformation_subtype: String,
    pub masked: bool,
}

/// The column edges of the recorded lineage, for [`walk`]: nodes are `(table, column)`.
pub(crate) fn column_edges(
    edges: Vec<ColumnEdge>,
) -> impl Iterator<Item = ((String, String), (String, String), ColumnHop)> {
    edges.into_iter().map(|e| {
        (
            (e.source.0, e.source_column),
            (e.target.0, e.target_column),
            ColumnHop {
                source_type: e.source.1,
                target_type: e.target.1,
                transformation_type: e.transformation.0,
                transformation_subtype: e.transformation.1,
                masked: e.masked,
            },
        )
    })
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

    fn pairs(hops: &[Hop<String, (String, String)>]) -> Vec<(usize, &str, &str)> {
        hops.iter()
            .map(|h| (h.depth, h.source.as_str(), h.target.as_str()))
            .collect()
    }

    fn table_walk(
        edges: &[LineageEdge],
        start: &str,
        direction: Direction,
        depth: usize,
    ) -> Vec<Hop<String, (String, String)>> {
        walk(
            table_edges(edges.to_vec()),
            &start.to_string(),
            direction,
            depth,
        )
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
            pairs(&table_walk(&edges, "gold", Direction::Upstream, 5)),
            vec![
                (1, "dim", "gold"),
                (1, "silver", "gold"),
                (2, "bronze", "silver"),
                (2, "silver", "silver"),
            ]
        );
        assert_eq!(
            pairs(&table_walk(&edges, "gold", Direction::Upstream, 1)),
            vec![(1, "dim", "gold"), (1, "silver", "gold")]
        );
        assert_eq!(
            pairs(&table_walk(&edges, "bronze", Direction::Downstream, 3)),
            vec![
                (1, "bronze", "silver"),
                (2, "silver", "gold"),
                (2, "silver", "silver"),
                (3, "gold", "report"),
            ]
        );
    }
}
