//! The numeric kernels the semantics and the backends share: work spread over the
//! cores in pieces cut the same way on every machine, and the matrix product.

use crate::{InterpError, malformed};
use melior::ir::OperationRef;
use ndarray::{Array2, ArrayD, IxDyn};

/// Rows per piece of work spread over the cores. Work is cut the same way on every
/// machine, so results never depend on how many cores there are.
pub const CHUNK_ROWS: usize = 128;

/// Threads the kernels spread work over (rayon's global pool: `RAYON_NUM_THREADS`,
/// else one per core).
pub fn threads() -> usize {
    rayon::current_num_threads()
}

/// Makes the calling thread one of the kernels' pool threads (one of
/// [`threads`]; the others are started here). A program's main thread calls it
/// before any kernel runs: its parallel kernels then run on it, the pool's other
/// threads taking pieces, where a thread outside the pool hands each parallel
/// kernel to the pool and sleeps until it is done, a futex wake and a sleep per
/// call (the `rram` layer of `cargo bench --bench runtime`, hundreds of kernel
/// calls a run, took 228-298 ms so and 192-229 ms on the pool, alternating).
/// False when the pool was started already (then nothing changes). The thread
/// must then not wait outside rayon for another thread's kernels: the pool counts
/// on it, and with a pool of one (`RAYON_NUM_THREADS=1`) those would wait for it.
pub fn run_kernels_on_this_thread() -> bool {
    rayon::ThreadPoolBuilder::new()
        .use_current_thread()
        .build_global()
        .is_ok()
}

/// Runs `work(index, chunk)` on the consecutive `chunk`-element pieces of `values`,
/// spread over the machine's cores (rayon's pool: no thread is started per call,
/// which small blocks would pay for).
pub fn for_chunks<T: Send>(values: &mut [T], chunk: usize, work: impl Fn(usize, &mut [T]) + Sync) {
    use rayon::prelude::*;
    let chunk = chunk.max(1);
    if values.len() <= chunk {
        if !values.is_empty() {
            work(0, values);
        }
        return;
    }
    values
        .par_chunks_mut(chunk)
        .enumerate()
        .for_each(|(index, piece)| work(index, piece));
}

/// Runs `work` compiled for AVX2 where the CPU has it: the loops it inlines then
/// take four f64 lanes where the build's baseline (x86-64-v2) takes two. The same
/// operations either way (AVX2 without FMA: nothing is fused), so the same bits.
/// Pass a closure marked `#[inline(always)]` that calls `#[inline(always)]` code:
/// only what is inlined into the AVX2 copy is compiled for it.
#[inline(always)]
pub fn wide_vectors<R>(work: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        #[target_feature(enable = "avx2")]
        fn wide<R>(work: impl FnOnce() -> R) -> R {
            work()
        }
        // SAFETY: the CPU has AVX2.
        return unsafe { wide(work) };
    }
    work()
}

/// The largest magnitude among `values` (0 for none; a NaN is passed over, as
/// `max` passes it over): eight running maxima side by side, a loop the compiler
/// vectorises where a single running maximum is a chain of dependent steps. The
/// maximum does not depend on the order it is taken in, so this is the value of a
/// fold, bit for bit.
#[inline(always)]
pub fn abs_max<T: Copy + Into<f64>>(values: &[T]) -> f64 {
    const LANES: usize = 8;
    let mut lanes = [0.0f64; LANES];
    let mut chunks = values.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (lane, &value) in lanes.iter_mut().zip(chunk) {
            *lane = lane.max(value.into().abs());
        }
    }
    let rest = chunks
        .remainder()
        .iter()
        .fold(0.0f64, |m, &value| m.max(value.into().abs()));
    lanes.into_iter().fold(rest, f64::max)
}

/// Whether any of `values` is NaN: in pieces without an exit inside each (a loop
/// the compiler vectorises), stopping at the first piece with one.
pub fn any_nan(values: &ArrayD<f64>) -> bool {
    match values.as_slice_memory_order() {
        Some(slice) => slice
            .chunks(4096)
            .any(|piece| piece.iter().fold(false, |nan, value| nan | value.is_nan())),
        None => values.iter().any(|value| value.is_nan()),
    }
}

/// `input . weight` over the last axis of `input`.
pub fn matmul<S: ndarray::Data<Elem = f64>>(
    op: &OperationRef,
    input: &ArrayD<f64>,
    weight: &ndarray::ArrayBase<S, ndarray::Ix2>,
) -> Result<ArrayD<f64>, InterpError> {
    let shape = input.shape().to_vec();
    let k = *shape
        .last()
        .ok_or_else(|| malformed(op, "input has rank 0"))?;
    if k != weight.nrows() {
        return Err(malformed(
            op,
            format!(
                "input inner dimension {k} vs weight rows {}",
                weight.nrows()
            ),
        ));
    }
    let rows = input.len() / k.max(1);
    let flat = input
        .to_shape((rows, k))
        .map_err(|error| malformed(op, error.to_string()))?;
    let product = gemm(flat.view(), weight.view());
    let mut out_shape = shape;
    *out_shape.last_mut().expect("rank >= 1") = weight.ncols();
    product
        .into_shape_with_order(IxDyn(&out_shape))
        .map_err(|error| malformed(op, error.to_string()))
}

/// `a · b` (m × k by k × n): one call of matrixmultiply's kernel (`sgemm` for
/// f32, `dgemm` for f64) on its own threads (`MATMUL_NUM_THREADS`, else one per
/// core up to 4), which cut the rows of the output into blocks and sum every
/// output over k in the same order whichever block holds it, so the bits do not
/// depend on the thread count. For f32 this runs at the speed of OpenBLAS's `sgemm`
/// on the same cores, at the arrays' shapes too (measured against numpy, torch and
/// the `gemm` and `faer` crates: `cargo bench --bench runtime` prints the runtime
/// beside this bound; `tools/gemm-reference.py` times numpy and torch).
pub fn gemm<A: GemmScalar>(a: ndarray::ArrayView2<A>, b: ndarray::ArrayView2<A>) -> Array2<A> {
    let ((m, k), n) = (a.dim(), b.ncols());
    assert_eq!(k, b.nrows(), "gemm of {m}x{k} by {}x{n}", b.nrows());
    let mut product = Array2::<A>::uninit((m, n));
    let (rsc, csc) = (product.strides()[0], product.strides()[1]);
    // SAFETY: the pointers and strides are the views' own and the new array's,
    // sized as checked above; with β = 0 the kernel writes every element of the
    // product without reading it (matrixmultiply's contract, also for k = 0), so
    // the product is initialised, without a pass clearing it first.
    unsafe {
        A::gemm(
            (m, k, n),
            (a.as_ptr(), a.strides()[0], a.strides()[1]),
            (b.as_ptr(), b.strides()[0], b.strides()[1]),
            (product.as_mut_ptr().cast::<A>(), rsc, csc),
        );
        product.assume_init()
    }
}

/// The element types [`gemm`] multiplies: matrixmultiply's `sgemm` and `dgemm`.
pub trait GemmScalar: ndarray::LinalgScalar + Send + Sync {
    /// `c ← a · b` (m × k by k × n), each matrix a pointer and its row and column
    /// strides in elements.
    ///
    /// # Safety
    /// The pointers and strides must address matrices of those shapes; `c` need
    /// not be initialised.
    unsafe fn gemm(
        shape: (usize, usize, usize),
        a: (*const Self, isize, isize),
        b: (*const Self, isize, isize),
        c: (*mut Self, isize, isize),
    );
}

/// The impl for an element type and matrixmultiply's kernel of it.
macro_rules! gemm_scalar {
    ($element:ty, $kernel:path) => {
        impl GemmScalar for $element {
            unsafe fn gemm(
                (m, k, n): (usize, usize, usize),
                a: (*const Self, isize, isize),
                b: (*const Self, isize, isize),
                c: (*mut Self, isize, isize),
            ) {
                // SAFETY: as the caller promised.
                unsafe {
                    $kernel(
                        m, k, n, 1.0, a.0, a.1, a.2, b.0, b.1, b.2, 0.0, c.0, c.1, c.2,
                    )
                }
            }
        }
    };
}

gemm_scalar!(f32, matrixmultiply::sgemm);
gemm_scalar!(f64, matrixmultiply::dgemm);

/// `view`'s elements in row-major order, as an array of its own (a transpose or a
/// strided slice materialised). ndarray walks an `IxDyn` view through a dynamic
/// index per element; at a fixed rank its iterator is several times faster
/// (a 4-D transpose: 10 ns an element before), so ranks up to 6 are copied there.
pub fn standard_layout(view: ndarray::ArrayViewD<f64>) -> ArrayD<f64> {
    use ndarray::{Ix1, Ix2, Ix3, Ix4, Ix5, Ix6};
    fn at<D: ndarray::Dimension>(view: ndarray::ArrayViewD<f64>) -> ArrayD<f64> {
        view.into_dimensionality::<D>()
            .expect("dispatched on the rank")
            .as_standard_layout()
            .into_owned()
            .into_dyn()
    }
    if view.is_standard_layout() {
        return view.to_owned();
    }
    match view.ndim() {
        1 => at::<Ix1>(view),
        2 => at::<Ix2>(view),
        3 => at::<Ix3>(view),
        4 => at::<Ix4>(view),
        5 => at::<Ix5>(view),
        6 => at::<Ix6>(view),
        _ => view.as_standard_layout().into_owned(),
    }
}
