//! Plots of measurements: accuracy against time since programming, as SVG (for
//! documents) and PNG (for anything that shows images), from one layout.

use font8x8::UnicodeFonts;
use std::fmt::Write;

/// Where things go: the plot area, and the mapping of (log time, accuracy) to it.
struct Layout {
    width: f64,
    height: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    /// log10 of each point's time.
    times: Vec<f64>,
    t0: f64,
    t1: f64,
    a0: f64,
    a1: f64,
}

impl Layout {
    fn new(points: &[(f64, f64, f64)]) -> Self {
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
        Self {
            width: 640.0,
            height: 400.0,
            left: 70.0,
            right: 20.0,
            top: 40.0,
            bottom: 50.0,
            times,
            t0,
            t1,
            // The accuracy axis from a round tenth below the lowest bar to 1.
            a0: (low * 10.0).floor() / 10.0,
            a1: 1.0,
        }
    }

    fn x(&self, t: f64) -> f64 {
        self.left + (t - self.t0) / (self.t1 - self.t0) * (self.width - self.left - self.right)
    }

    fn y(&self, a: f64) -> f64 {
        self.top
            + (self.a1 - a) / (self.a1 - self.a0).max(1e-9) * (self.height - self.top - self.bottom)
    }

    /// Tenths of accuracy.
    fn accuracy_ticks(&self) -> Vec<f64> {
        let mut ticks = Vec::new();
        let mut tick = self.a0;
        while tick <= self.a1 + 1e-9 {
            ticks.push(tick);
            tick += 0.1;
        }
        ticks
    }

    /// Decades of time within the axis.
    fn decades(&self) -> Vec<i32> {
        ((self.t0.floor() as i32)..=(self.t1.ceil() as i32))
            .filter(|&d| f64::from(d) >= self.t0 - 1e-9 && f64::from(d) <= self.t1 + 1e-9)
            .collect()
    }
}

impl Layout {
    fn frame(&self) -> Frame {
        Frame {
            width: self.width,
            height: self.height,
            left: self.left,
            right: self.right,
            top: self.top,
            bottom: self.bottom,
        }
    }

    /// Tenths of accuracy: (position, label).
    fn y_ticks(&self) -> Vec<(f64, String)> {
        self.accuracy_ticks()
            .into_iter()
            .map(|tick| (self.y(tick), format!("{tick:.1}")))
            .collect()
    }

    /// Decades of time: (position, label).
    fn x_ticks(&self) -> Vec<(f64, String)> {
        self.decades()
            .into_iter()
            .map(|decade| (self.x(f64::from(decade)), format!("1e{decade}")))
            .collect()
    }
}

/// A plot's frame: its size and margins, drawn with the title, the axes, their
/// ticks (positions in pixels and labels) and their labels, in SVG or on a
/// canvas; both plots draw their points over it.
struct Frame {
    width: f64,
    height: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
}

/// An axis: its label and ticks (position in pixels, label).
type Axis<'a> = (&'a str, &'a [(f64, String)]);

impl Frame {
    /// The frame as the start of an SVG document (closed by the caller).
    fn svg(&self, title: &str, (x_label, x_ticks): Axis, (y_label, y_ticks): Axis) -> String {
        let (width, height, left, right, top, bottom) = (
            self.width,
            self.height,
            self.left,
            self.right,
            self.top,
            self.bottom,
        );
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
        let _ = writeln!(
            svg,
            r##"<path d="M{left} {top} V{} H{}" fill="none" stroke="#333"/>"##,
            height - bottom,
            width - right
        );
        for (y, label) in y_ticks {
            let _ = writeln!(
                svg,
                r##"<text x="{}" y="{}" text-anchor="end">{label}</text><path d="M{left} {y} H{}" stroke="#ddd"/>"##,
                left - 6.0,
                y + 4.0,
                width - right
            );
        }
        for (x, label) in x_ticks {
            let _ = writeln!(
                svg,
                r#"<text x="{x}" y="{}" text-anchor="middle">{label}</text>"#,
                height - bottom + 16.0
            );
        }
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            (left + width - right) / 2.0,
            height - 12.0,
            escape(x_label)
        );
        let _ = writeln!(
            svg,
            r#"<text x="16" y="{0}" transform="rotate(-90 16 {0})" text-anchor="middle">{1}</text>"#,
            (top + height - bottom) / 2.0,
            escape(y_label)
        );
        svg
    }

    /// The frame drawn on a new canvas.
    fn canvas(&self, title: &str, (x_label, x_ticks): Axis, (y_label, y_ticks): Axis) -> Canvas {
        let mut canvas = Canvas::new(self.width as usize, self.height as usize);
        let (bottom, right) = (self.height - self.bottom, self.width - self.right);
        for (y, label) in y_ticks {
            canvas.line((self.left, *y), (right, *y), GRID, 1);
            canvas.text(self.left - 6.0, y + 4.0, label, Anchor::End, false);
        }
        canvas.line((self.left, self.top), (self.left, bottom), INK, 1);
        canvas.line((self.left, bottom), (right, bottom), INK, 1);
        for (x, label) in x_ticks {
            canvas.line((*x, bottom), (*x, bottom + 4.0), INK, 1);
            canvas.text(*x, bottom + 16.0, label, Anchor::Middle, false);
        }
        canvas.text(self.width / 2.0, 20.0, title, Anchor::Middle, false);
        canvas.text(
            (self.left + right) / 2.0,
            self.height - 12.0,
            x_label,
            Anchor::Middle,
            false,
        );
        canvas.text(
            20.0,
            (self.top + bottom) / 2.0,
            y_label,
            Anchor::Middle,
            true,
        );
        canvas
    }
}

const X_LABEL: &str = "seconds since programming";
const Y_LABEL: &str = "top-1 accuracy";

/// Accuracy against time since programming: `points` are (seconds, mean, std),
/// drawn on a logarithmic time axis with ±1 std bars.
pub fn accuracy_over_time_svg(points: &[(f64, f64, f64)], title: &str) -> String {
    let l = Layout::new(points);
    let mut svg = l
        .frame()
        .svg(title, (X_LABEL, &l.x_ticks()), (Y_LABEL, &l.y_ticks()));
    let line: Vec<String> = points
        .iter()
        .zip(&l.times)
        .map(|(p, &t)| format!("{:.1},{:.1}", l.x(t), l.y(p.1)))
        .collect();
    let _ = writeln!(
        svg,
        r##"<polyline points="{}" fill="none" stroke="#4e79a7" stroke-width="2"/>"##,
        line.join(" ")
    );
    for (p, &t) in points.iter().zip(&l.times) {
        let _ = writeln!(
            svg,
            r##"<path d="M{0:.1} {1:.1} V{2:.1}" stroke="#4e79a7"/><circle cx="{0:.1}" cy="{3:.1}" r="3" fill="#4e79a7"><title>{4} s: {5:.4} ± {6:.4}</title></circle>"##,
            l.x(t),
            l.y(p.1 + p.2),
            l.y(p.1 - p.2),
            l.y(p.1),
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

/// The colours of the plots.
const INK: [u8; 3] = [0x33, 0x33, 0x33];
const GRID: [u8; 3] = [0xdd, 0xdd, 0xdd];
/// The series colour (#4e79a7), as in the SVG.
pub const SERIES: [u8; 3] = [0x4e, 0x79, 0xa7];

/// An RGB raster, white to start with.
struct Canvas {
    width: usize,
    height: usize,
    pixels: Vec<[u8; 3]>,
}

#[derive(Clone, Copy)]
enum Anchor {
    Middle,
    End,
}

impl Canvas {
    fn new(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            pixels: vec![[255; 3]; width * height],
        }
    }

    fn set(&mut self, x: i64, y: i64, colour: [u8; 3]) {
        if (0..self.width as i64).contains(&x) && (0..self.height as i64).contains(&y) {
            self.pixels[y as usize * self.width + x as usize] = colour;
        }
    }

    /// A line `thickness` pixels wide, by steps of at most one pixel.
    fn line(&mut self, from: (f64, f64), to: (f64, f64), colour: [u8; 3], thickness: i64) {
        let steps = (to.0 - from.0)
            .abs()
            .max((to.1 - from.1).abs())
            .ceil()
            .max(1.0) as i64;
        for step in 0..=steps {
            let f = step as f64 / steps as f64;
            let (x, y) = (
                (from.0 + f * (to.0 - from.0)).round() as i64,
                (from.1 + f * (to.1 - from.1)).round() as i64,
            );
            for dx in 0..thickness {
                for dy in 0..thickness {
                    self.set(x + dx - thickness / 2, y + dy - thickness / 2, colour);
                }
            }
        }
    }

    fn disc(&mut self, centre: (f64, f64), radius: f64, colour: [u8; 3]) {
        let r = radius.ceil() as i64;
        let (cx, cy) = (centre.0.round() as i64, centre.1.round() as i64);
        for dy in -r..=r {
            for dx in -r..=r {
                if ((dx * dx + dy * dy) as f64) <= radius * radius {
                    self.set(cx + dx, cy + dy, colour);
                }
            }
        }
    }

    /// Text in an 8x8 font, its baseline row at `y`; `vertical` turns it to read
    /// upwards, anchored on `x` then.
    fn text(&mut self, x: f64, y: f64, text: &str, anchor: Anchor, vertical: bool) {
        let length = text.chars().count() as f64 * 8.0;
        let start = match anchor {
            Anchor::Middle => -length / 2.0,
            Anchor::End => -length,
        };
        for (index, c) in text.chars().enumerate() {
            let glyph = font8x8::BASIC_FONTS
                .get(c)
                .or_else(|| font8x8::LATIN_FONTS.get(c))
                .unwrap_or([0; 8]);
            for (row, bits) in glyph.iter().enumerate() {
                for column in 0..8 {
                    if bits & (1 << column) == 0 {
                        continue;
                    }
                    let along = start + index as f64 * 8.0 + column as f64;
                    let across = row as f64 - 7.0;
                    let (px, py) = if vertical {
                        (x + across, y - along)
                    } else {
                        (x + along, y + across)
                    };
                    self.set(px.round() as i64, py.round() as i64, INK);
                }
            }
        }
    }

    fn png(&self) -> Result<Vec<u8>, String> {
        let mut bytes = Vec::new();
        let mut encoder = png::Encoder::new(&mut bytes, self.width as u32, self.height as u32);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        let data: Vec<u8> = self.pixels.iter().flatten().copied().collect();
        writer.write_image_data(&data).map_err(|e| e.to_string())?;
        writer.finish().map_err(|e| e.to_string())?;
        Ok(bytes)
    }
}

/// [`accuracy_over_time_svg`] as a PNG image.
pub fn accuracy_over_time_png(points: &[(f64, f64, f64)], title: &str) -> Result<Vec<u8>, String> {
    let l = Layout::new(points);
    let mut canvas = l
        .frame()
        .canvas(title, (X_LABEL, &l.x_ticks()), (Y_LABEL, &l.y_ticks()));
    let at: Vec<(f64, f64)> = points
        .iter()
        .zip(&l.times)
        .map(|(p, &t)| (l.x(t), l.y(p.1)))
        .collect();
    for pair in at.windows(2) {
        canvas.line(pair[0], pair[1], SERIES, 2);
    }
    for (p, &t) in points.iter().zip(&l.times) {
        let x = l.x(t);
        canvas.line((x, l.y(p.1 + p.2)), (x, l.y(p.1 - p.2)), SERIES, 1);
        canvas.disc((x, l.y(p.1)), 3.0, SERIES);
    }
    canvas.png()
}

/// A point of a scatter plot; marked points are drawn in the series colour, the
/// others in grey.
#[derive(Clone, Debug)]
pub struct Marked {
    /// Horizontal value.
    pub x: f64,
    /// Vertical value.
    pub y: f64,
    /// Drawn in colour (a front's points).
    pub marked: bool,
    /// Its tooltip in the SVG.
    pub label: String,
}

/// The unmarked points' colour.
const MUTED: [u8; 3] = [0xb0, 0xb0, 0xb0];

/// Where a scatter plot's points go: a logarithmic horizontal axis when the
/// values are positive and span more than a decade, else a linear one; the
/// vertical axis from the lowest value to the highest.
struct ScatterLayout {
    width: f64,
    height: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    log: bool,
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
}

impl ScatterLayout {
    fn new(points: &[Marked]) -> Self {
        let span = |values: &mut dyn Iterator<Item = f64>| {
            values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            })
        };
        let (lo, hi) = span(&mut points.iter().map(|p| p.x).filter(|x| x.is_finite()));
        let log = lo > 0.0 && hi / lo > 10.0;
        let (x0, x1) = if log {
            (lo.log10(), hi.log10())
        } else {
            (lo, hi)
        };
        let widen = |(a, b): (f64, f64)| {
            if !(a.is_finite() && b.is_finite()) {
                (0.0, 1.0)
            } else if b > a {
                let pad = 0.05 * (b - a);
                (a - pad, b + pad)
            } else {
                (a - 0.5, b + 0.5)
            }
        };
        let (x0, x1) = widen((x0, x1));
        let (y0, y1) = widen(span(
            &mut points.iter().map(|p| p.y).filter(|y| y.is_finite()),
        ));
        Self {
            width: 640.0,
            height: 400.0,
            left: 80.0,
            right: 20.0,
            top: 40.0,
            bottom: 50.0,
            log,
            x0,
            x1,
            y0,
            y1,
        }
    }

    fn x(&self, value: f64) -> f64 {
        let v = if self.log { value.log10() } else { value };
        self.left + (v - self.x0) / (self.x1 - self.x0) * (self.width - self.left - self.right)
    }

    fn y(&self, value: f64) -> f64 {
        self.top + (self.y1 - value) / (self.y1 - self.y0) * (self.height - self.top - self.bottom)
    }

    fn frame(&self) -> Frame {
        Frame {
            width: self.width,
            height: self.height,
            left: self.left,
            right: self.right,
            top: self.top,
            bottom: self.bottom,
        }
    }

    /// Ticks of the horizontal axis: (position, label).
    fn x_ticks(&self) -> Vec<(f64, String)> {
        let values: Vec<(f64, String)> = if self.log {
            // 1, 2 and 5 times each power of ten within the axis.
            ((self.x0.floor() as i32)..=(self.x1.ceil() as i32))
                .flat_map(|d| [1.0, 2.0, 5.0].map(|m| (m * 10f64.powi(d), format!("{m}e{d}"))))
                .filter(|(v, _)| (self.x0..=self.x1).contains(&v.log10()))
                .collect()
        } else {
            (0..=4)
                .map(|i| {
                    let v = self.x0 + (self.x1 - self.x0) * f64::from(i) / 4.0;
                    (v, format!("{v:.3}"))
                })
                .collect()
        };
        values
            .into_iter()
            .map(|(v, label)| (self.x(v), label))
            .collect()
    }

    /// Ticks of the vertical axis: (position, label).
    fn y_ticks(&self) -> Vec<(f64, String)> {
        (0..=4)
            .map(|i| {
                let v = self.y0 + (self.y1 - self.y0) * f64::from(i) / 4.0;
                (self.y(v), format!("{v:.3}"))
            })
            .collect()
    }
}

/// The points unmarked first, so that the marked points are drawn over them.
fn drawing_order(points: &[Marked]) -> impl Iterator<Item = &Marked> {
    let unmarked = points.iter().filter(|p| !p.marked);
    unmarked.chain(points.iter().filter(|p| p.marked))
}

/// A scatter plot of `points` as SVG (a front over more than two objectives is
/// not a curve in two of them: its points are marked, not joined).
pub fn scatter_svg(points: &[Marked], title: &str, x_label: &str, y_label: &str) -> String {
    let l = ScatterLayout::new(points);
    let mut svg = l
        .frame()
        .svg(title, (x_label, &l.x_ticks()), (y_label, &l.y_ticks()));
    for p in drawing_order(points) {
        let colour = if p.marked { "#4e79a7" } else { "#b0b0b0" };
        let _ = writeln!(
            svg,
            r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"><title>{}: {} {}, {} {:.4}</title></circle>"#,
            l.x(p.x),
            l.y(p.y),
            escape(&p.label),
            escape(x_label),
            p.x,
            escape(y_label),
            p.y
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// [`scatter_svg`] as a PNG image.
pub fn scatter_png(
    points: &[Marked],
    title: &str,
    x_label: &str,
    y_label: &str,
) -> Result<Vec<u8>, String> {
    let l = ScatterLayout::new(points);
    let mut canvas = l
        .frame()
        .canvas(title, (x_label, &l.x_ticks()), (y_label, &l.y_ticks()));
    for p in drawing_order(points) {
        let colour = if p.marked { SERIES } else { MUTED };
        canvas.disc((l.x(p.x), l.y(p.y)), 3.0, colour);
    }
    canvas.png()
}
