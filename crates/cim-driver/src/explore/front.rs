//! The Pareto front: the points no other point beats in every objective and
//! strictly in one (`accuracy` larger is better, every other metric smaller).

/// Whether an objective is better larger.
pub fn maximised(objective: &str) -> bool {
    objective == "accuracy"
}

/// `a`'s objective values in a form where smaller is better everywhere.
fn minimised(objectives: &[String], values: &[f64]) -> Vec<f64> {
    objectives
        .iter()
        .zip(values)
        .map(|(name, &v)| if maximised(name) { -v } else { v })
        .collect()
}

/// Whether `a` dominates `b` (values in the order of `objectives`).
pub fn dominates(objectives: &[String], a: &[f64], b: &[f64]) -> bool {
    let (a, b) = (minimised(objectives, a), minimised(objectives, b));
    a.iter().zip(&b).all(|(x, y)| x <= y) && a.iter().zip(&b).any(|(x, y)| x < y)
}

/// The indices (into `points`) of the non-dominated points, in their order.
/// Points with equal values are all kept.
pub fn pareto_front(objectives: &[String], points: &[Vec<f64>]) -> Vec<usize> {
    (0..points.len())
        .filter(|&i| {
            !points
                .iter()
                .any(|other| dominates(objectives, other, &points[i]))
        })
        .collect()
}

/// The hypervolume the points dominate up to `reference` (a point every front
/// point beats), in units of the objectives' own scales; exact, by slicing along
/// the first objective (fine for the few objectives and hundreds of points a
/// front has).
pub fn hypervolume(objectives: &[String], points: &[Vec<f64>], reference: &[f64]) -> f64 {
    let reference = minimised(objectives, reference);
    let mut points: Vec<Vec<f64>> = points
        .iter()
        .map(|p| minimised(objectives, p))
        .filter(|p| p.iter().zip(&reference).all(|(x, r)| x < r))
        .collect();
    volume(&mut points, &reference)
}

fn volume(points: &mut [Vec<f64>], reference: &[f64]) -> f64 {
    if points.is_empty() {
        return 0.0;
    }
    if reference.len() == 1 {
        let best = points.iter().map(|p| p[0]).fold(f64::INFINITY, f64::min);
        return (reference[0] - best).max(0.0);
    }
    // Slices between consecutive values of the first objective: in each, the
    // points at or below it span a volume in the other objectives.
    points.sort_by(|a, b| a[0].total_cmp(&b[0]));
    let mut total = 0.0;
    for i in 0..points.len() {
        let upper = if i + 1 < points.len() {
            points[i + 1][0]
        } else {
            reference[0]
        };
        let width = upper - points[i][0];
        if width <= 0.0 {
            continue;
        }
        let mut rest: Vec<Vec<f64>> = points[..=i].iter().map(|p| p[1..].to_vec()).collect();
        total += width * volume(&mut rest, &reference[1..]);
    }
    total
}

/// `values` on the scale a normalised hypervolume compares them: accuracy as
/// it is, costs by their logarithm (a design's costs span orders of magnitude,
/// and designers weigh them in ratios).
fn on_scale(objectives: &[String], values: &[f64]) -> Vec<f64> {
    objectives
        .iter()
        .zip(values)
        .map(|(name, &v)| {
            if maximised(name) {
                v
            } else {
                v.max(f64::MIN_POSITIVE).ln()
            }
        })
        .collect()
}

/// Each objective's best and worst value over the front of `points`, on the
/// scale of [`normalised_hypervolume`]: what it normalises by.
pub fn bounds(objectives: &[String], points: &[Vec<f64>]) -> Vec<(f64, f64)> {
    let front: Vec<Vec<f64>> = pareto_front(objectives, points)
        .into_iter()
        .map(|i| on_scale(objectives, &points[i]))
        .collect();
    (0..objectives.len())
        .map(|k| {
            let values = front.iter().map(|p| p[k]);
            let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
            if maximised(&objectives[k]) {
                (high, low)
            } else {
                (low, high)
            }
        })
        .collect()
}

/// Where the reference point of a normalised hypervolume lies: a tenth of each
/// objective's range beyond the front's worst value.
pub const NORMALISED_REFERENCE: f64 = 1.1;

/// The hypervolume of `points` with costs on a log scale and each objective
/// scaled so that the best value of `bounds` is 0 and the worst 1, up to
/// [`NORMALISED_REFERENCE`] in every objective: unitless, and comparable between
/// runs measured against the same bounds (those of the exhaustive front, or of
/// the union of the runs compared). Points beyond the reference count nothing.
pub fn normalised_hypervolume(
    objectives: &[String],
    points: &[Vec<f64>],
    bounds: &[(f64, f64)],
) -> f64 {
    let scaled: Vec<Vec<f64>> = points
        .iter()
        .map(|p| {
            on_scale(objectives, p)
                .iter()
                .zip(bounds)
                .map(|(&v, &(best, worst))| {
                    let span = worst - best;
                    if span == 0.0 { 0.0 } else { (v - best) / span }
                })
                .collect()
        })
        .collect();
    let minimised = vec![String::new(); objectives.len()];
    hypervolume(
        &minimised,
        &scaled,
        &vec![NORMALISED_REFERENCE; objectives.len()],
    )
}
