//! Plots of measurements, drawn by plotters: accuracy against time since
//! programming (a drift sweep) and accuracy against a cost (an exploration's
//! points, its front marked), each as SVG (for documents) and PNG (for anything
//! that shows images) from one drawing.
//!
//! The text is set in DejaVu Sans, carried in the binary (the `dejavu` crate):
//! a plot looks the same on every machine, with or without fonts installed.

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use std::ops::Range;
use std::sync::OnceLock;

/// The size of every plot, in pixels.
const SIZE: (u32, u32) = (640, 400);
/// The font family the plots name (registered as DejaVu Sans).
const FONT: &str = "sans-serif";
/// The series colour (#4e79a7), in the PNG and the SVG.
pub const SERIES: [u8; 3] = [0x4e, 0x79, 0xa7];
/// The unmarked points' colour.
const MUTED: [u8; 3] = [0xb0, 0xb0, 0xb0];
/// The fine grid's colour.
const LIGHT: [u8; 3] = [0xf0, 0xf0, 0xf0];

const X_LABEL: &str = "seconds since programming";
const Y_LABEL: &str = "top-1 accuracy";

fn colour([r, g, b]: [u8; 3]) -> RGBColor {
    RGBColor(r, g, b)
}

/// Registers the carried font under [`FONT`], once per process.
fn register_font() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
                .map_err(|_| "the plots' font (DejaVu Sans) did not load".to_string())
        })
        .clone()
}

/// A drawing, as SVG text.
fn svg(
    draw: impl FnOnce(DrawingArea<SVGBackend, Shift>) -> Result<(), String>,
) -> Result<String, String> {
    register_font()?;
    let mut text = String::new();
    draw(SVGBackend::with_string(&mut text, SIZE).into_drawing_area())?;
    Ok(text)
}

/// A drawing, as a PNG image (8-bit RGB).
fn png(
    draw: impl FnOnce(DrawingArea<BitMapBackend, Shift>) -> Result<(), String>,
) -> Result<Vec<u8>, String> {
    register_font()?;
    let (width, height) = SIZE;
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    draw(BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area())?;
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer
        .write_image_data(&pixels)
        .map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(bytes)
}

fn failed(error: impl std::fmt::Display) -> String {
    format!("drawing a plot: {error}")
}

/// The lowest and highest of the finite `values`, if there are any.
fn span(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .filter(|v| v.is_finite())
        .fold(None, |span, v| match span {
            None => Some((v, v)),
            Some((lo, hi)) => Some((f64::min(lo, v), f64::max(hi, v))),
        })
}

/// The span of `values` widened by 5% each side, or by 0.5 when it is one value;
/// (0, 1) when there are no finite values.
fn padded(values: impl Iterator<Item = f64>) -> Range<f64> {
    match span(values) {
        None => 0.0..1.0,
        Some((lo, hi)) if hi > lo => {
            let pad = 0.05 * (hi - lo);
            lo - pad..hi + pad
        }
        Some((lo, hi)) => lo - 0.5..hi + 0.5,
    }
}

/// `lo..hi` (both positive) widened by 5% of its span each side in log terms, so
/// the end points show whole.
fn log_padded(lo: f64, hi: f64) -> Range<f64> {
    let pad = (hi / lo).powf(0.05);
    lo / pad..hi * pad
}

/// Draws accuracy against time since programming: `points` are (seconds, mean,
/// std), on a logarithmic time axis, joined, with ±1 std bars.
fn draw_accuracy_over_time<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    points: &[(f64, f64, f64)],
    title: &str,
) -> Result<(), String> {
    // Times from a millisecond (a sweep may start at 0 s), a decade each side of
    // a single time.
    let times: Vec<f64> = points.iter().map(|p| p.0.max(1e-3)).collect();
    let time_axis = match span(times.iter().copied()) {
        Some((t0, t1)) if t1 > t0 => log_padded(t0, t1),
        Some((t0, _)) => t0 / 10.0..t0 * 10.0,
        None => 1.0..10.0,
    };
    // The accuracy axis from a round tenth below the lowest bar to 1.
    let low = points
        .iter()
        .map(|p| p.1 - p.2)
        .fold(1.0f64, f64::min)
        .clamp(0.0, 1.0);
    let a0 = ((low * 10.0).floor() / 10.0).min(0.9);
    root.fill(&WHITE).map_err(failed)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT, 15))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(time_axis.log_scale(), a0..1.0)
        .map_err(failed)?;
    chart
        .configure_mesh()
        .x_desc(X_LABEL)
        .y_desc(Y_LABEL)
        .x_label_formatter(&|t| format!("{t:e}"))
        .light_line_style(colour(LIGHT))
        .y_label_formatter(&|a| format!("{a:.2}"))
        .label_style((FONT, 12))
        .draw()
        .map_err(failed)?;
    let series = colour(SERIES);
    let at: Vec<(f64, f64)> = times.iter().zip(points).map(|(&t, p)| (t, p.1)).collect();
    chart
        .draw_series(LineSeries::new(at.iter().copied(), series.stroke_width(2)))
        .map_err(failed)?;
    chart
        .draw_series(times.iter().zip(points).map(|(&t, p)| {
            PathElement::new(vec![(t, p.1 - p.2), (t, p.1 + p.2)], series.stroke_width(1))
        }))
        .map_err(failed)?;
    chart
        .draw_series(
            at.iter()
                .map(|&point| Circle::new(point, 3, series.filled())),
        )
        .map_err(failed)?;
    root.present().map_err(failed)
}

/// Accuracy against time since programming as SVG: `points` are (seconds, mean,
/// std), drawn on a logarithmic time axis with ±1 std bars.
pub fn accuracy_over_time_svg(points: &[(f64, f64, f64)], title: &str) -> Result<String, String> {
    svg(|root| draw_accuracy_over_time(root, points, title))
}

/// [`accuracy_over_time_svg`] as a PNG image.
pub fn accuracy_over_time_png(points: &[(f64, f64, f64)], title: &str) -> Result<Vec<u8>, String> {
    png(|root| draw_accuracy_over_time(root, points, title))
}

/// A point of a scatter plot; marked points are drawn in the series colour over
/// the others, in grey.
#[derive(Clone, Debug)]
pub struct Marked {
    /// Horizontal value.
    pub x: f64,
    /// Vertical value.
    pub y: f64,
    /// Drawn in colour (a front's points).
    pub marked: bool,
}

/// The labels of a scatter plot.
pub struct Labels<'a> {
    /// Above the plot.
    pub title: &'a str,
    /// The horizontal axis.
    pub x: &'a str,
    /// The vertical axis.
    pub y: &'a str,
}

/// Draws a scatter plot on `x_axis` (linear or logarithmic) and a padded linear
/// vertical axis.
fn draw_scatter_on<DB: DrawingBackend, X>(
    root: DrawingArea<DB, Shift>,
    points: &[Marked],
    labels: &Labels,
    x_axis: X,
) -> Result<(), String>
where
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
{
    root.fill(&WHITE).map_err(failed)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(labels.title, (FONT, 15))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(x_axis, padded(points.iter().map(|p| p.y)))
        .map_err(failed)?;
    chart
        .configure_mesh()
        .x_desc(labels.x)
        .y_desc(labels.y)
        .light_line_style(colour(LIGHT))
        .label_style((FONT, 12))
        .draw()
        .map_err(failed)?;
    // Unmarked first, so that the marked points are drawn over them.
    for marked in [false, true] {
        let style = colour(if marked { SERIES } else { MUTED }).filled();
        chart
            .draw_series(
                points
                    .iter()
                    .filter(|p| p.marked == marked && p.x.is_finite() && p.y.is_finite())
                    .map(|p| Circle::new((p.x, p.y), 3, style)),
            )
            .map_err(failed)?;
    }
    root.present().map_err(failed)
}

/// A scatter plot: a logarithmic horizontal axis when the values are positive and
/// span more than a decade, else a linear one. (A front over more than two
/// objectives is not a curve in two of them: its points are marked, not joined.)
fn draw_scatter<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    points: &[Marked],
    labels: &Labels,
) -> Result<(), String> {
    match span(points.iter().map(|p| p.x)) {
        Some((lo, hi)) if lo > 0.0 && hi / lo > 10.0 => {
            draw_scatter_on(root, points, labels, log_padded(lo, hi).log_scale())
        }
        _ => draw_scatter_on(root, points, labels, padded(points.iter().map(|p| p.x))),
    }
}

/// A scatter plot of `points` as SVG.
pub fn scatter_svg(points: &[Marked], labels: &Labels) -> Result<String, String> {
    svg(|root| draw_scatter(root, points, labels))
}

/// [`scatter_svg`] as a PNG image.
pub fn scatter_png(points: &[Marked], labels: &Labels) -> Result<Vec<u8>, String> {
    png(|root| draw_scatter(root, points, labels))
}
