//! The evolutionary search of a space too large to evaluate whole: NSGA-II (Deb,
//! Pratap, Agarwal and Meyarivan, 2002), seeded and deterministic.
//!
//! A point is a vector of choice indices (its genes). Each generation takes
//! `screen × population` candidates never seen before: the first at random, the
//! later bred from the population (parents by binary tournament on front rank,
//! then crowding distance; uniform crossover; each gene mutated with probability
//! 1/genes, to a neighbouring value or any other). All candidates are estimated
//! cheaply (compiled, reported, run at quantized fidelity: costs exact, accuracy
//! from above); ranked by their estimates with the population's measured points,
//! the best `population` are measured on chips (cheap fidelity first, full
//! fidelity for the points that can still be on the front). The next population
//! is the best of the population and the measured children. Infeasible and
//! failed points rank behind every feasible one. The search stops when `budget`
//! points are measured, or when no new point can be bred.
//!
//! The search never evaluates a point twice; the same seed and the same results
//! give the same points in the same order, so a rerun replays it from the results
//! already saved.

use super::front;
use super::space::SearchSpec;
use cim_device::rng::DeviceRng;

/// Attempts at breeding a new point, per point wanted, before a generation
/// settles for fewer (the space near the population is exhausted).
pub const TRIES_PER_CHILD: usize = 64;

/// Probability that two parents exchange genes (else the child copies one).
const CROSSOVER: f64 = 0.9;

/// A point's objective values (in the order of the objectives), or `None` when it
/// is infeasible or failed.
pub type Fitness = Option<Vec<f64>>;

/// What the search evaluated, in order.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SearchLog {
    /// The points evaluated, by index, in the order they were asked for.
    pub order: Vec<usize>,
    /// After each generation, how many points had been evaluated (estimated,
    /// or found infeasible or failed).
    pub generations: Vec<usize>,
    /// After each generation, how many had been chosen for measuring on chips.
    pub measured: Vec<usize>,
}

/// A point's index from its genes (the last choice varies fastest, as in
/// [`super::space::Space::point`]).
pub fn index_of(radices: &[usize], genes: &[usize]) -> usize {
    radices
        .iter()
        .zip(genes)
        .fold(0, |index, (&radix, &gene)| index * radix + gene)
}

/// A point's genes from its index.
pub fn genes_of(radices: &[usize], mut index: usize) -> Vec<usize> {
    let mut genes = vec![0; radices.len()];
    for (gene, &radix) in genes.iter_mut().zip(radices).rev() {
        *gene = index % radix;
        index /= radix;
    }
    genes
}

/// An integer in `0..n` (n > 0).
fn below(rng: &mut DeviceRng, n: usize) -> usize {
    ((rng.uniform() * n as f64) as usize).min(n - 1)
}

/// A population member: its index, front rank (0 best) and crowding distance.
#[derive(Clone, Copy, Debug)]
struct Ranked {
    index: usize,
    rank: usize,
    crowding: f64,
}

/// The preference between members: lower rank first, then larger crowding
/// distance, then lower index (so ties break the same way every time).
fn preference(a: &Ranked, b: &Ranked) -> std::cmp::Ordering {
    a.rank
        .cmp(&b.rank)
        .then(b.crowding.total_cmp(&a.crowding))
        .then(a.index.cmp(&b.index))
}

/// Ranks `members` by non-dominated sorting and crowding distance.
fn rank(objectives: &[String], members: &[(usize, &Fitness)]) -> Vec<Ranked> {
    let feasible: Vec<(usize, &Vec<f64>)> = members
        .iter()
        .filter_map(|(index, fitness)| fitness.as_ref().map(|values| (*index, values)))
        .collect();
    let mut ranked = Vec::with_capacity(members.len());
    let mut remaining: Vec<usize> = (0..feasible.len()).collect();
    let mut rank = 0;
    while !remaining.is_empty() {
        let (front, rest): (Vec<usize>, Vec<usize>) = remaining.iter().partition(|&&i| {
            !remaining
                .iter()
                .any(|&j| front::dominates(objectives, feasible[j].1, feasible[i].1))
        });
        let crowding = crowding(&front.iter().map(|&i| feasible[i].1).collect::<Vec<_>>());
        for (&i, crowding) in front.iter().zip(crowding) {
            ranked.push(Ranked {
                index: feasible[i].0,
                rank,
                crowding,
            });
        }
        remaining = rest;
        rank += 1;
    }
    for (index, fitness) in members {
        if fitness.is_none() {
            ranked.push(Ranked {
                index: *index,
                rank,
                crowding: 0.0,
            });
        }
    }
    ranked
}

/// Each point's crowding distance in its front: the sum over objectives of the
/// normalised gap between its neighbours; the extremes are infinitely far.
fn crowding(front: &[&Vec<f64>]) -> Vec<f64> {
    let mut distance = vec![0.0; front.len()];
    let Some(first) = front.first() else {
        return distance;
    };
    for objective in 0..first.len() {
        let mut order: Vec<usize> = (0..front.len()).collect();
        order.sort_by(|&a, &b| {
            front[a][objective]
                .total_cmp(&front[b][objective])
                .then(a.cmp(&b))
        });
        let (low, high) = (
            front[order[0]][objective],
            front[order[order.len() - 1]][objective],
        );
        distance[order[0]] = f64::INFINITY;
        distance[order[order.len() - 1]] = f64::INFINITY;
        let span = high - low;
        if span <= 0.0 {
            continue;
        }
        for k in 1..order.len().saturating_sub(1) {
            let gap = front[order[k + 1]][objective] - front[order[k - 1]][objective];
            distance[order[k]] += gap / span;
        }
    }
    distance
}

/// What the search asks of the points it chooses.
pub trait Evaluator {
    /// What stops the search.
    type Error;
    /// Cheap estimates of `points` (compiled, reported, run without device
    /// noise): an estimate from above of each one's accuracy, its costs exact;
    /// `None` when a point is infeasible or failed (it is then finished).
    fn estimate(&mut self, points: &[usize]) -> Result<Vec<Fitness>, Self::Error>;
    /// Measures `chosen` (on chips) and returns their fitness in the same order;
    /// the estimated points in `passed_over` will not be measured.
    fn measure(
        &mut self,
        chosen: &[usize],
        passed_over: &[usize],
    ) -> Result<Vec<Fitness>, Self::Error>;
    /// Hears of the log after each generation.
    fn generation_done(&mut self, log: &SearchLog) -> Result<(), Self::Error>;
}

/// Breeds up to `wanted` points not in `seen` from `parents` (ranked).
fn breed(
    rng: &mut DeviceRng,
    radices: &[usize],
    parents: &[Ranked],
    seen: &std::collections::BTreeSet<usize>,
    wanted: usize,
) -> Vec<usize> {
    let tournament = |rng: &mut DeviceRng| -> usize {
        let a = &parents[below(rng, parents.len())];
        let b = &parents[below(rng, parents.len())];
        std::cmp::min_by(a, b, |a, b| preference(a, b)).index
    };
    let mut children: Vec<usize> = Vec::with_capacity(wanted);
    let mut tries = 0;
    while children.len() < wanted && tries < wanted * TRIES_PER_CHILD {
        tries += 1;
        let mother = genes_of(radices, tournament(rng));
        let father = genes_of(radices, tournament(rng));
        let crossed = rng.uniform() < CROSSOVER;
        let mut child: Vec<usize> = mother
            .iter()
            .zip(&father)
            .map(|(&m, &f)| if crossed && rng.uniform() < 0.5 { f } else { m })
            .collect();
        for (gene, &radix) in child.iter_mut().zip(radices) {
            if radix < 2 || rng.uniform() >= 1.0 / radices.len() as f64 {
                continue;
            }
            *gene = if rng.uniform() < 0.5 {
                // A neighbouring value: ordered choices change a step at a time.
                match *gene {
                    0 => 1,
                    g if g + 1 == radix => g - 1,
                    g if rng.uniform() < 0.5 => g - 1,
                    g => g + 1,
                }
            } else {
                // Any other value.
                (*gene + 1 + below(rng, radix - 1)) % radix
            };
        }
        let index = index_of(radices, &child);
        if !seen.contains(&index) && !children.contains(&index) {
            children.push(index);
        }
    }
    children
}

/// Runs the search: each generation breeds `screen` candidates per point it
/// may measure, estimates them all, and measures the best by their estimates
/// (ranked with the population's measured points), until `budget` points are
/// measured.
pub fn nsga2<V: Evaluator>(
    spec: &SearchSpec,
    radices: &[usize],
    objectives: &[String],
    evaluator: &mut V,
) -> Result<SearchLog, V::Error> {
    let size = radices.iter().product::<usize>();
    let mut rng = DeviceRng::new(spec.seed);
    let mut log = SearchLog::default();
    let mut seen = std::collections::BTreeSet::new();
    // Measured points' fitness.
    let mut fitness: std::collections::BTreeMap<usize, Fitness> = Default::default();
    let mut population: Vec<usize> = Vec::new();
    let mut measured = 0;
    while measured < spec.budget && seen.len() < size {
        let wanted = spec.population.min(spec.budget - measured);
        let candidates = if population.is_empty() {
            // Distinct points never seen, at random (the first generation, or
            // after every point so far was infeasible); all of a small space.
            let unseen = size - seen.len();
            let first = (wanted * spec.screen).min(unseen);
            let mut points = Vec::with_capacity(first);
            if first == unseen {
                points.extend((0..size).filter(|i| !seen.contains(i)));
            } else {
                while points.len() < first {
                    let index = below(&mut rng, size);
                    if !seen.contains(&index) && !points.contains(&index) {
                        points.push(index);
                    }
                }
            }
            points
        } else {
            let members: Vec<(usize, &Fitness)> =
                population.iter().map(|&i| (i, &fitness[&i])).collect();
            breed(
                &mut rng,
                radices,
                &rank(objectives, &members),
                &seen,
                wanted * spec.screen,
            )
        };
        if candidates.is_empty() {
            break;
        }
        seen.extend(candidates.iter().copied());
        log.order.extend(candidates.iter().copied());
        // Estimated, then ranked with the population: the best are measured.
        let estimates = evaluator.estimate(&candidates)?;
        let estimated: Vec<(usize, &Fitness)> = candidates
            .iter()
            .copied()
            .zip(&estimates)
            .filter(|(_, estimate)| estimate.is_some())
            .collect();
        let mut pool: Vec<(usize, &Fitness)> =
            population.iter().map(|&i| (i, &fitness[&i])).collect();
        pool.extend(estimated.iter().copied());
        let mut ranked = rank(objectives, &pool);
        ranked.sort_by(preference);
        let chosen: Vec<usize> = ranked
            .iter()
            .map(|r| r.index)
            .filter(|index| estimated.iter().any(|(e, _)| e == index))
            .take(wanted)
            .collect();
        let passed_over: Vec<usize> = estimated
            .iter()
            .map(|(index, _)| *index)
            .filter(|index| !chosen.contains(index))
            .collect();
        let values = evaluator.measure(&chosen, &passed_over)?;
        measured += chosen.len();
        for (&index, value) in chosen.iter().zip(values) {
            fitness.insert(index, value);
        }
        log.generations.push(log.order.len());
        log.measured.push(measured);
        evaluator.generation_done(&log)?;
        // The next population: the best of parents and children measured.
        let pool: Vec<usize> = population.iter().chain(&chosen).copied().collect();
        let members: Vec<(usize, &Fitness)> = pool.iter().map(|&i| (i, &fitness[&i])).collect();
        let mut ranked = rank(objectives, &members);
        ranked.sort_by(preference);
        // Infeasible and failed points are never parents.
        population = ranked
            .iter()
            .filter(|r| fitness[&r.index].is_some())
            .take(spec.population)
            .map(|r| r.index)
            .collect();
    }
    Ok(log)
}
