//! Plots of measurements, as SVG.

use std::fmt::Write;

/// Accuracy against time since programming: `points` are (seconds, mean, std),
/// drawn on a logarithmic time axis with ±1 std bars.
pub fn accuracy_over_time_svg(points: &[(f64, f64, f64)], title: &str) -> String {
    let (width, height) = (640.0, 400.0);
    let (left, right, top, bottom) = (70.0, 20.0, 40.0, 50.0);
    let times: Vec<f64> = points.iter().map(|p| p.0.max(1e-3).log10()).collect();
    let (t0, t1) = times
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &t| {
            (lo.min(t), hi.max(t))
        });
    let (t0, t1) = if t0.is_finite() && t1 > t0 {
        (t0, t1)
    } else {
        (0.0, 1.0)
    };
    let low = points
        .iter()
        .map(|p| p.1 - p.2)
        .fold(1.0f64, f64::min)
        .clamp(0.0, 1.0);
    // The accuracy axis from a round tenth below the lowest bar to 1.
    let (a0, a1) = ((low * 10.0).floor() / 10.0, 1.0);
    let x = |t: f64| left + (t - t0) / (t1 - t0) * (width - left - right);
    let y = |a: f64| top + (a1 - a) / (a1 - a0).max(1e-9) * (height - top - bottom);
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="20" text-anchor="middle" font-size="13">{}</text>"#,
        width / 2.0,
        escape(title)
    );
    // Axes, and ticks: tenths of accuracy, decades of time.
    let _ = writeln!(
        svg,
        r##"<path d="M{left} {top} V{} H{}" fill="none" stroke="#333"/>"##,
        height - bottom,
        width - right
    );
    let mut tick = a0;
    while tick <= a1 + 1e-9 {
        let _ = writeln!(
            svg,
            r##"<text x="{}" y="{}" text-anchor="end">{tick:.1}</text><path d="M{left} {} H{}" stroke="#ddd"/>"##,
            left - 6.0,
            y(tick) + 4.0,
            y(tick),
            width - right
        );
        tick += 0.1;
    }
    for decade in (t0.floor() as i32)..=(t1.ceil() as i32) {
        let t = f64::from(decade);
        if t < t0 - 1e-9 || t > t1 + 1e-9 {
            continue;
        }
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="middle">1e{decade}</text>"#,
            x(t),
            height - bottom + 16.0
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">seconds since programming</text>"#,
        (left + width - right) / 2.0,
        height - 12.0
    );
    let _ = writeln!(
        svg,
        r#"<text x="16" y="{}" transform="rotate(-90 16 {})" text-anchor="middle">top-1 accuracy</text>"#,
        (top + height - bottom) / 2.0,
        (top + height - bottom) / 2.0
    );
    let line: Vec<String> = points
        .iter()
        .zip(&times)
        .map(|(p, &t)| format!("{:.1},{:.1}", x(t), y(p.1)))
        .collect();
    let _ = writeln!(
        svg,
        r##"<polyline points="{}" fill="none" stroke="#4e79a7" stroke-width="2"/>"##,
        line.join(" ")
    );
    for (p, &t) in points.iter().zip(&times) {
        let _ = writeln!(
            svg,
            r##"<path d="M{0:.1} {1:.1} V{2:.1}" stroke="#4e79a7"/><circle cx="{0:.1}" cy="{3:.1}" r="3" fill="#4e79a7"><title>{4} s: {5:.4} ± {6:.4}</title></circle>"##,
            x(t),
            y(p.1 + p.2),
            y(p.1 - p.2),
            y(p.1),
            p.0,
            p.1,
            p.2
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
