//! The Pareto front and its hypervolume (`cim_driver::explore::front`): a start
//! and a goal for small cases, and the laws on random point sets.

use cim_driver::explore::front::{dominates, hypervolume, pareto_front};
use proptest::prelude::*;

fn objectives(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

#[test]
fn accuracy_is_maximised_and_costs_minimised() {
    let o = objectives(&["accuracy", "energy_nj"]);
    let points = vec![
        vec![0.9, 10.0],  // front
        vec![0.8, 10.0],  // dominated by 0
        vec![0.95, 20.0], // front
        vec![0.7, 5.0],   // front
        vec![0.9, 10.0],  // equal to 0: kept
    ];
    assert_eq!(pareto_front(&o, &points), vec![0, 2, 3, 4]);
    assert!(dominates(&o, &points[0], &points[1]));
    assert!(!dominates(&o, &points[0], &points[4]));
    // Reference (accuracy 0, energy 30): the union of three rectangles.
    let volume = hypervolume(&o, &points, &[0.0, 30.0]);
    let expected = 0.95 * 10.0 + 0.9 * 10.0 + 0.7 * 5.0;
    assert!((volume - expected).abs() < 1e-12, "{volume} != {expected}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Front points do not dominate each other, every other point is dominated by
    /// one of them, and the front spans the same hypervolume as all the points.
    #[test]
    fn the_front_is_the_non_dominated_set(
        points in prop::collection::vec(
            (0.0f64..1.0, 1.0f64..100.0, 0.1f64..10.0)
                .prop_map(|(a, e, s)| vec![(a * 20.0).round() / 20.0, e.round(), s]),
            1..40,
        )
    ) {
        let o = objectives(&["accuracy", "energy_nj", "area_mm2"]);
        let front = pareto_front(&o, &points);
        prop_assert!(!front.is_empty());
        for &i in &front {
            for &j in &front {
                prop_assert!(!dominates(&o, &points[i], &points[j]));
            }
        }
        for (i, point) in points.iter().enumerate() {
            if !front.contains(&i) {
                prop_assert!(front.iter().any(|&f| dominates(&o, &points[f], point)));
            }
        }
        let reference = [0.0, 101.0, 11.0];
        let on_front: Vec<Vec<f64>> = front.iter().map(|&i| points[i].clone()).collect();
        let (all, some) = (
            hypervolume(&o, &points, &reference),
            hypervolume(&o, &on_front, &reference),
        );
        prop_assert!((all - some).abs() <= 1e-9 * all.max(1.0), "{} != {}", all, some);
    }
}
