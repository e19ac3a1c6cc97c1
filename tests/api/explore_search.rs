//! The evolutionary search (`cim_driver::explore::search`) on synthetic spaces
//! whose every point is cheap to evaluate, so the exhaustive front is known: a
//! start and a goal (the front it finds within its budget), and its laws (never a
//! point twice, the budget kept, the same seed the same points, points named as
//! the space names them).

use cim_driver::explore::front::{bounds, normalised_hypervolume, pareto_front};
use cim_driver::explore::search::{Evaluator, Fitness, SearchLog, genes_of, index_of, nsga2};
use cim_driver::explore::space::{Method, SearchSpec, Space};
use proptest::prelude::*;
use std::collections::BTreeSet;

fn objectives() -> Vec<String> {
    ["accuracy", "energy_nj", "area_mm2"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// A space of 8 × 8 × 6 × 3 points with the trade-offs of a crossbar design:
/// more converter bits (a) and larger arrays (b) cost energy and area and buy
/// accuracy with diminishing returns; the third gene helps accuracy only at its
/// middle value, the fourth is a costly option that buys nothing. A twentieth of
/// the points fail.
const RADICES: [usize; 4] = [8, 8, 6, 3];

fn fitness(index: usize) -> Fitness {
    let g = genes_of(&RADICES, index);
    if index % 20 == 7 {
        return None;
    }
    let (a, b, c, d) = (g[0] as f64, g[1] as f64, g[2] as f64, g[3] as f64);
    let accuracy = 1.0 - 0.5 * (-0.6 * a).exp() - 0.2 * (-0.4 * b).exp() - 0.02 * (c - 3.0).abs();
    let energy = 2f64.powf(a) * (1.0 + 0.3 * d) + 4.0 * b;
    let area = 1.0 + a + (b + 1.0).powi(2) / 8.0 + d;
    Some(vec![accuracy, energy, area])
}

/// The estimate of a point: its accuracy from above (as quantized fidelity
/// is), by up to 3 points depending on the point, its costs exact.
fn estimate(index: usize) -> Fitness {
    let mut values = fitness(index)?;
    values[0] += 0.03 * ((index * 37) % 11) as f64 / 10.0;
    Some(values)
}

/// The synthetic space as an evaluator, recording what it is asked.
#[derive(Default)]
struct Synthetic {
    estimated: Vec<usize>,
    measured: Vec<usize>,
    generations: Vec<(usize, usize)>,
    /// Fail on this call of `measure`.
    fail_at: Option<usize>,
}

impl Evaluator for Synthetic {
    type Error = &'static str;

    fn estimate(&mut self, points: &[usize]) -> Result<Vec<Fitness>, Self::Error> {
        self.estimated.extend(points);
        Ok(points.iter().map(|&i| estimate(i)).collect())
    }

    fn measure(
        &mut self,
        chosen: &[usize],
        passed_over: &[usize],
    ) -> Result<Vec<Fitness>, Self::Error> {
        if self.fail_at == Some(self.generations.len()) {
            return Err("disk full");
        }
        self.measured.extend(chosen);
        self.generations.push((chosen.len(), passed_over.len()));
        Ok(chosen.iter().map(|&i| fitness(i)).collect())
    }

    fn generation_done(&mut self, _: &SearchLog) -> Result<(), Self::Error> {
        Ok(())
    }
}

fn spec(budget: usize, population: usize, screen: usize, seed: u64) -> SearchSpec {
    SearchSpec {
        method: Method::Evolutionary,
        budget,
        population,
        screen,
        seed,
    }
}

fn search(spec: &SearchSpec) -> (SearchLog, Synthetic) {
    let mut synthetic = Synthetic::default();
    let log = nsga2(spec, &RADICES, &objectives(), &mut synthetic).unwrap();
    (log, synthetic)
}

/// The normalised hypervolume of the points' front, over bounds of all points.
fn volume(points: impl Iterator<Item = usize>) -> f64 {
    let size: usize = RADICES.iter().product();
    let all: Vec<Vec<f64>> = (0..size).filter_map(fitness).collect();
    let bounds = bounds(&objectives(), &all);
    let values: Vec<Vec<f64>> = points.filter_map(fitness).collect();
    normalised_hypervolume(&objectives(), &values, &bounds)
}

#[test]
fn an_eighth_of_the_space_measured_finds_most_of_the_exhaustive_front() {
    let size: usize = RADICES.iter().product();
    let exhaustive = volume(0..size);
    let all: Vec<Vec<f64>> = (0..size).filter_map(fitness).collect();
    let front = pareto_front(&objectives(), &all).len();
    assert!(
        front > 20,
        "the goal needs a front worth searching: {front}"
    );
    for seed in 1..=5 {
        let (log, synthetic) = search(&spec(size / 8, 16, 3, seed));
        assert_eq!(synthetic.measured.len(), size / 8);
        let found = volume(synthetic.measured.iter().copied());
        assert!(
            found >= 0.95 * exhaustive,
            "seed {seed}: {found} of {exhaustive} after {} points measured",
            synthetic.measured.len()
        );
        // Better than as many points measured at random.
        let random: BTreeSet<usize> = (0..)
            .map(|k: usize| (k * 7919 + seed as usize * 104_729) % size)
            .take(synthetic.measured.len())
            .collect();
        assert!(found > volume(random.into_iter()), "seed {seed}");
        assert_eq!(log.measured.last().copied(), Some(size / 8));
    }
}

#[test]
fn a_small_space_is_evaluated_whole_once() {
    let radices = [3, 2];
    struct Diagonal(Vec<usize>);
    impl Evaluator for Diagonal {
        type Error = ();
        fn estimate(&mut self, points: &[usize]) -> Result<Vec<Fitness>, ()> {
            self.0.extend(points);
            Ok(points
                .iter()
                .map(|&i| Some(vec![i as f64, i as f64]))
                .collect())
        }
        fn measure(&mut self, chosen: &[usize], _: &[usize]) -> Result<Vec<Fitness>, ()> {
            Ok(chosen
                .iter()
                .map(|&i| Some(vec![i as f64, i as f64]))
                .collect())
        }
        fn generation_done(&mut self, _: &SearchLog) -> Result<(), ()> {
            Ok(())
        }
    }
    let mut diagonal = Diagonal(Vec::new());
    nsga2(
        &spec(100, 8, 3, 3),
        &radices,
        &objectives()[..2],
        &mut diagonal,
    )
    .unwrap();
    diagonal.0.sort();
    assert_eq!(diagonal.0, (0..6).collect::<Vec<_>>());
}

#[test]
fn an_error_stops_the_search_and_reaches_the_caller() {
    let mut synthetic = Synthetic {
        fail_at: Some(1),
        ..Synthetic::default()
    };
    let result = nsga2(&spec(96, 16, 3, 1), &RADICES, &objectives(), &mut synthetic);
    assert_eq!(result, Err("disk full"));
    assert_eq!(synthetic.generations.len(), 1);
}

#[test]
fn genes_name_the_points_as_the_space_does() {
    let space = Space::parse(
        r#"
base_target = "pcm"
[target.array]
rows = [64, 128, 256]
[target.adc]
bits = [4, 6]
[compile]
objective = ["area", "latency", "energy"]
"#,
        "space.toml",
    )
    .unwrap();
    let radices = space.radices();
    let lengths: Vec<usize> = space.choices.iter().map(|(_, v)| v.len()).collect();
    assert_eq!(radices, lengths);
    assert_eq!(space.size(), 18);
    for index in 0..space.size() {
        let genes = genes_of(&radices, index);
        let point = space.point(index);
        for ((key, values), gene) in space.choices.iter().zip(&genes) {
            assert_eq!(point[key], values[*gene], "point {index}, {key}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// The search never estimates a point twice, measures only what it
    /// estimated, keeps its budget, measures at most a population per
    /// generation and estimates at most `screen` candidates per point measured,
    /// and gives the same points for the same seed.
    #[test]
    fn the_search_keeps_its_laws(
        budget in 1usize..120,
        population in 2usize..32,
        screen in 1usize..5,
        seed in 0u64..1000,
    ) {
        let spec = spec(budget, population, screen, seed);
        let (log, synthetic) = search(&spec);
        let distinct: BTreeSet<usize> = synthetic.estimated.iter().copied().collect();
        prop_assert_eq!(distinct.len(), synthetic.estimated.len());
        prop_assert_eq!(&log.order, &synthetic.estimated);
        prop_assert!(synthetic.measured.iter().all(|i| distinct.contains(i)));
        prop_assert!(synthetic.measured.len() <= budget);
        for &(chosen, passed_over) in &synthetic.generations {
            prop_assert!(chosen <= population);
            prop_assert!(chosen + passed_over <= population * screen);
        }
        prop_assert_eq!(log.generations.len(), synthetic.generations.len());
        prop_assert_eq!(log.generations.last().copied(), Some(log.order.len()));
        prop_assert_eq!(&log, &search(&spec).0);
        for &index in &log.order {
            prop_assert_eq!(index_of(&RADICES, &genes_of(&RADICES, index)), index);
        }
    }
}
