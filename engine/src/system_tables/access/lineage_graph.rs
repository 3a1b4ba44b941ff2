//! Walks the recorded table lineage: the edges upstream of a table (what it was made from, and
//! what that was made from, ...) or downstream of it (what was made from it), to a depth. Each
//! step asks the log for the edges at the nodes just reached (through its indexes), so a walk
//! reads the part of the graph it visits, not the whole retained log.

use std::collections::{BTreeSet, HashSet};
use std::hash::Hash;

use weir_catalog::{ColumnLink, TableLink};

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

/// The distinct edges within `depth` of `start`, nearest first. `edges_at(nodes)` gives the
/// edges `(source, target, about)` whose near end (the target upstream, the source downstream)
/// is one of `nodes`.
pub(crate) fn walk<N, A, E>(
    mut edges_at: impl FnMut(&[N]) -> Result<Vec<(N, N, A)>, E>,
    start: &N,
    direction: Direction,
    depth: usize,
) -> Result<Vec<Hop<N, A>>, E>
where
    N: Ord + Hash + Clone,
    A: Ord + Clone,
{
    let mut hops = BTreeSet::new();
    let mut visited: HashSet<N> = HashSet::from([start.clone()]);
    let mut frontier: Vec<N> = vec![start.clone()];
    for d in 1..=depth {
        let reached: HashSet<&N> = frontier.iter().collect();
        let mut next = vec![];
        let edges: BTreeSet<(N, N, A)> = edges_at(&frontier)?.into_iter().collect();
        for (source, target, about) in edges {
            let (near, far) = match direction {
                Direction::Upstream => (&target, &source),
                Direction::Downstream => (&source, &target),
            };
            if !reached.contains(near) {
                continue;
            }
            if visited.insert(far.clone()) {
                next.push(far.clone());
            }
            hops.insert(Hop {
                depth: d,
                source,
                target,
                about,
            });
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    Ok(hops.into_iter().collect())
}

/// The table edges of the recorded lineage, for [`walk`]. `about` is the source's and the
/// target's types.
pub(crate) fn table_edges(
    links: Vec<TableLink>,
) -> impl Iterator<Item = (String, String, (String, String))> {
    links
        .into_iter()
        .map(|((source, source_type), (target, target_type))| {
            (source, target, (source_type, target_type))
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
    links: Vec<ColumnLink>,
) -> impl Iterator<Item = ((String, String), (String, String), ColumnHop)> {
    links.into_iter().map(|e| {
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

    fn pairs(hops: &[Hop<String, ()>]) -> Vec<(usize, &str, &str)> {
        hops.iter()
            .map(|h| (h.depth, h.source.as_str(), h.target.as_str()))
            .collect()
    }

    /// A walk over `edges` held in memory, stepping as the log's lookups do.
    fn table_walk(
        edges: &[(&str, &str)],
        start: &str,
        direction: Direction,
        depth: usize,
    ) -> Vec<Hop<String, ()>> {
        let edges: Vec<(String, String, ())> = edges
            .iter()
            .map(|(s, t)| (s.to_string(), t.to_string(), ()))
            .collect();
        walk(
            |nodes: &[String]| -> Result<_, ()> {
                Ok(edges
                    .iter()
                    .filter(|(s, t, _)| {
                        let near = if direction == Direction::Upstream {
                            t
                        } else {
                            s
                        };
                        nodes.contains(near)
                    })
                    .cloned()
                    .collect())
            },
            &start.to_string(),
            direction,
            depth,
        )
        .unwrap_or_default()
    }

    #[test]
    fn walks_both_ways_to_a_depth_through_cycles() {
        let edges = [
            ("bronze", "silver"),
            ("bronze", "silver"),
            ("silver", "silver"),
            ("silver", "gold"),
            ("dim", "gold"),
            ("gold", "report"),
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
