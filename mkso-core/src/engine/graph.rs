//! The program's dependency graph: validation, cycle detection, topological order.

use std::collections::{HashMap, VecDeque};

use crate::error::Error;
use crate::names::Urn;
use crate::stack::{Declared, ResourceKind};

/// The declared resources with their edges.
#[derive(Debug)]
pub struct DepGraph {
    /// For each resource (declaration index), the indices it depends on.
    pub deps: Vec<Vec<usize>>,
    /// The declaration indices in a dependency-respecting order.
    pub order: Vec<usize>,
    /// URN → declaration index.
    pub index: HashMap<Urn, usize>,
}

impl DepGraph {
    /// Builds and validates the graph: every dependency must be declared and
    /// there must be no cycle (the error names one). A component depends on its
    /// children, so depending on a component waits for all of them.
    pub fn build(resources: &[Declared]) -> Result<DepGraph, Error> {
        let index: HashMap<Urn, usize> = resources
            .iter()
            .enumerate()
            .map(|(i, d)| (d.urn.clone(), i))
            .collect();
        let mut deps: Vec<Vec<usize>> = Vec::with_capacity(resources.len());
        for d in resources {
            let mut v = Vec::new();
            for u in d.dependencies() {
                match index.get(&u) {
                    Some(&j) => v.push(j),
                    None => {
                        return Err(Error::UnknownDependency {
                            name: d.name.clone(),
                            dependency: u,
                        });
                    }
                }
            }
            deps.push(v);
        }
        for (i, d) in resources.iter().enumerate() {
            if let Some(p) = &d.options.parent
                && let Some(&pi) = index.get(p)
                && resources[pi].kind == ResourceKind::Component
            {
                deps[pi].push(i);
            }
        }
        for v in deps.iter_mut() {
            v.sort_unstable();
            v.dedup();
        }
        let order = topo_order(&deps).map_err(|cycle| Error::Cycle {
            cycle: cycle.iter().map(|&i| resources[i].name.clone()).collect(),
        })?;
        Ok(DepGraph { deps, order, index })
    }

    /// For each node, the nodes that depend on it.
    pub fn dependents(&self) -> Vec<Vec<usize>> {
        reverse(&self.deps)
    }
}

/// Reverses edges.
pub fn reverse(deps: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new(); deps.len()];
    for (i, ds) in deps.iter().enumerate() {
        for &d in ds {
            out[d].push(i);
        }
    }
    out
}

/// Kahn's algorithm, keeping declaration order among ready nodes. On a cycle,
/// returns one cycle as a path whose first node is repeated at the end.
pub fn topo_order(deps: &[Vec<usize>]) -> Result<Vec<usize>, Vec<usize>> {
    let n = deps.len();
    let dependents = reverse(deps);
    let mut remaining: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut ready: VecDeque<usize> = (0..n).filter(|&i| remaining[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop_front() {
        order.push(i);
        for &j in &dependents[i] {
            remaining[j] -= 1;
            if remaining[j] == 0 {
                ready.push_back(j);
            }
        }
    }
    if order.len() == n {
        return Ok(order);
    }
    // Every node left has a dependency that is also left: walk them until one repeats.
    let start = (0..n).find(|&i| remaining[i] > 0).expect("a node is left");
    let mut seen: HashMap<usize, usize> = HashMap::new();
    let mut path = Vec::new();
    let mut cur = start;
    loop {
        if let Some(&pos) = seen.get(&cur) {
            // Each node depends on the next one.
            let mut cycle: Vec<usize> = path[pos..].to_vec();
            cycle.push(cycle[0]);
            return Err(cycle);
        }
        seen.insert(cur, path.len());
        path.push(cur);
        cur = *deps[cur]
            .iter()
            .find(|&&d| remaining[d] > 0)
            .expect("a node left in a cycle has a dependency left");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_and_finds_cycles() {
        let deps = vec![vec![], vec![0], vec![1]];
        assert_eq!(topo_order(&deps).unwrap(), vec![0, 1, 2]);
        let cyc = vec![vec![2], vec![0], vec![1], vec![]];
        let c = topo_order(&cyc).unwrap_err();
        assert_eq!(c.first(), c.last());
        assert_eq!(c.len(), 4);
    }
}
