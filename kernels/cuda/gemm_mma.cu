// gemm_mma.cu: strap's own bf16 GEMM on the tensor cores (mma.sync, sm_80 and later; the
// Hopper version is gemm_wgmma.cu).
//
//   C (M,N) = alpha * op(A) (M,K) @ op(B) (K,N) + beta * C        row-major, fp32 accumulation
//
// the contract of cuda_gemm() (cuda_common.cuh): lda/ldb/ldc are row strides of the stored
// matrices; beta == 0 never reads C (so C may hold NaN). Every transpose pair is handled:
// the model's forward is (0,1), its dinp (0,0), its dweight (1,0).
//
// Design (one block computes a BM x BN tile of C):
//   - 256 threads = 8 warps in a 2 x 4 grid; a warp owns a 64 x 32 sub-tile, i.e. 4 x 4
//     mma.sync.m16n8k16 tiles and 64 fp32 accumulators per thread;
//   - K is walked in steps of BK = 32 through a STAGES-deep ring of shared-memory tiles
//     filled by cp.async (16-byte copies, the edges zero-filled), so global loads of the
//     next STAGES-1 steps overlap the math of this one;
//   - each operand tile is kept in shared memory in its global layout: "K-major" (rows
//     along M or N, 32 contiguous k: A not transposed, B transposed) or "MN-major" (rows
//     along k, 128 contiguous m or n: A transposed, B not transposed). Fragments come out
//     with ldmatrix (.trans for the MN-major case), so no transpose is ever materialised;
//   - rows are padded (K-major pitch 40 elements = 80 bytes, MN-major 136 = 272 bytes):
//     the 8 row addresses of one ldmatrix 8x8 matrix then fall in 8 different 16-byte
//     bank groups, so ldmatrix is conflict-free;
//   - blocks are ordered in groups of GROUP_M tile rows, so blocks running together share
//     A and B tiles in L2.
//
// Fragment layouts (PTX ISA, "mma.m16n8k16" for .bf16), g = lane / 4, t = lane % 4:
//   A (16x16): a0 = (g, 2t..2t+1)  a1 = (g+8, 2t..)  a2 = (g, 2t+8..)  a3 = (g+8, 2t+8..)
//   B (16x8):  b0 = (k 2t..2t+1, n g)  b1 = (k 2t+8..2t+9, n g)
//   C (16x8):  c0,c1 = (g, 2t..2t+1)  c2,c3 = (g+8, 2t..2t+1)
// ldmatrix.x4: lanes 8i..8i+7 give the 8 row addresses of matrix i; lane l receives row l/4,
// elements 2(l%4), 2(l%4)+1 of each matrix (with .trans: column l/4, rows 2(l%4), +1).
//
// What the kernel takes (gemm_own_takes): M, N, K multiples of 8, A and B 16-byte aligned
// with lda, ldb multiples of 8 (each 16-byte copy stays inside a row), C 4-byte aligned
// with ldc even (bf16 pairs are stored). Anything else goes to cuBLAS (cuda_matmul.cu).
#include "cuda_common.cuh"

#include <stdint.h>

#define GEMM_BM      128
#define GEMM_BN      128
#define GEMM_BK      32
#define GEMM_STAGES  4
#define GEMM_THREADS 256
#define GEMM_WARPS_M 2
#define GEMM_WARPS_N 4
#define GEMM_WM      (GEMM_BM / GEMM_WARPS_M) // 64 rows per warp
#define GEMM_WN      (GEMM_BN / GEMM_WARPS_N) // 32 columns per warp
#define GEMM_MI      (GEMM_WM / 16)           // 4 m16 tiles per warp
#define GEMM_NI      (GEMM_WN / 8)            // 4 n8 tiles per warp
#define GEMM_GROUP_M 8

// shared-memory tile of one operand for one stage, in elements
#define KMAJ_PITCH      (GEMM_BK + 8) // 40: rows along M/N, k contiguous
#define MNMAJ_PITCH     (GEMM_BM + 8) // 136: rows along k, m/n contiguous (BM == BN)
#define TILE_ELEMS      (GEMM_BM * KMAJ_PITCH > GEMM_BK * MNMAJ_PITCH ? GEMM_BM * KMAJ_PITCH : GEMM_BK * MNMAJ_PITCH)
#define GEMM_SMEM_BYTES ((size_t)GEMM_STAGES * 2 * TILE_ELEMS * sizeof(bf16)) // 80 KiB

static_assert(GEMM_BM == GEMM_BN, "one MN-major pitch serves both operands");
static_assert((KMAJ_PITCH * 2) % 16 == 0 && (MNMAJ_PITCH * 2) % 16 == 0, "ldmatrix rows must be 16-byte aligned");
static_assert((TILE_ELEMS * 2) % 128 == 0, "stage tiles stay 128-byte aligned");

// ---- PTX wrappers (cp.async ones: cuda_common.cuh) ----

__device__ __forceinline__ void ldmatrix_x4(uint32_t r[4], uint32_t addr) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t r[4], uint32_t addr) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
}

// c += a @ b on one m16n8k16 tile
__device__ __forceinline__ void mma_bf16(float c[4], const uint32_t a[4], const uint32_t b[2]) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
                 "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// ---- global -> shared: one operand tile (rows mn0.., k0..) of one stage ----
//   KMAJOR: element (mn, k) is X[mn * ld + k]; tile [BM rows of mn][BK k], pitch 40
//   else:   element (mn, k) is X[k * ld + mn]; tile [BK rows of k][BM mn], pitch 136
// Out-of-range chunks (mn >= MN or k >= K) are zero-filled; MN and K are multiples of 8,
// so a 16-byte chunk is either wholly inside or wholly outside.
template <bool KMAJOR>
__device__ __forceinline__ void load_tile(bf16 *tile, const bf16 *X, int ld, int MN, int K, int mn0, int k0) {
    constexpr int CHUNKS = GEMM_BM * GEMM_BK / 8; // 512 copies of 16 bytes, 2 per thread
    static_assert(CHUNKS % GEMM_THREADS == 0, "every thread copies the same number of chunks");
#pragma unroll
    for (int i = 0; i < CHUNKS / GEMM_THREADS; i++) {
        const int c = threadIdx.x + i * GEMM_THREADS;
        int mn, k, dst;
        if (KMAJOR) {
            const int row = c / (GEMM_BK / 8), kc = c % (GEMM_BK / 8);
            mn = mn0 + row, k = k0 + kc * 8, dst = row * KMAJ_PITCH + kc * 8;
        } else {
            const int row = c / (GEMM_BM / 8), mc = c % (GEMM_BM / 8);
            mn = mn0 + mc * 8, k = k0 + row, dst = row * MNMAJ_PITCH + mc * 8;
        }
        const bool inside = mn < MN && k < K;
        const bf16 *src = inside ? X + (KMAJOR ? (size_t)mn * ld + k : (size_t)k * ld + mn) : X;
        cp_async16(smem_u32(tile + dst), src, inside ? 16 : 0);
    }
}

// ---- shared -> registers: the fragments of one k16 step ----

// A fragments of the warp's 4 m16 tiles (rows wm0.. of the block tile, k kk..kk+15)
template <bool KMAJOR>
__device__ __forceinline__ void load_a_frags(uint32_t a[GEMM_MI][4], const bf16 *tile, int wm0, int kk, int lane) {
#pragma unroll
    for (int mi = 0; mi < GEMM_MI; mi++) {
        const int m = wm0 + mi * 16;
        if (KMAJOR) {
            // matrices: (rows 0-7, k 0-7), (rows 8-15, k 0-7), (rows 0-7, k 8-15), (rows 8-15, k 8-15)
            const int row = m + (lane % 16), k = kk + (lane / 16) * 8;
            ldmatrix_x4(a[mi], smem_u32(tile + row * KMAJ_PITCH + k));
        } else {
            // stored [k][m]: matrix i holds k rows 8*(i/2).., m columns 8*(i%2)..; .trans
            const int k = kk + (lane % 8) + (lane / 16) * 8, col = m + ((lane / 8) % 2) * 8;
            ldmatrix_x4_trans(a[mi], smem_u32(tile + k * MNMAJ_PITCH + col));
        }
    }
}

// B fragments of the warp's 4 n8 tiles (columns wn0.. of the block tile, k kk..kk+15);
// one ldmatrix.x4 yields two n8 tiles: regs 0,1 -> tile 2j, regs 2,3 -> tile 2j+1
template <bool KMAJOR>
__device__ __forceinline__ void load_b_frags(uint32_t b[GEMM_NI][2], const bf16 *tile, int wn0, int kk, int lane) {
#pragma unroll
    for (int j = 0; j < GEMM_NI / 2; j++) {
        const int n = wn0 + j * 16;
        uint32_t r[4];
        if (KMAJOR) {
            // stored [n][k]: matrices (n 0-7, k 0-7), (n 0-7, k 8-15), (n 8-15, k 0-7), (n 8-15, k 8-15)
            const int row = n + (lane % 8) + (lane / 16) * 8, k = kk + ((lane / 8) % 2) * 8;
            ldmatrix_x4(r, smem_u32(tile + row * KMAJ_PITCH + k));
        } else {
            // stored [k][n]: matrices (k 0-7, n 0-7), (k 8-15, n 0-7), (k 0-7, n 8-15), (k 8-15, n 8-15); .trans
            const int k = kk + (lane % 8) + ((lane / 8) % 2) * 8, col = n + (lane / 16) * 8;
            ldmatrix_x4_trans(r, smem_u32(tile + k * MNMAJ_PITCH + col));
        }
        b[2 * j][0] = r[0], b[2 * j][1] = r[1];
        b[2 * j + 1][0] = r[2], b[2 * j + 1][1] = r[3];
    }
}

// ---- the kernel: grid = number of block tiles (1-D, grouped order) ----

template <bool A_KMAJOR, bool B_KMAJOR>
__global__ void __launch_bounds__(GEMM_THREADS, 2) // 2 blocks per SM: <= 128 registers
    gemm_mma_kernel(int M, int N, int K, float alpha, const bf16 *__restrict__ A, int lda, const bf16 *__restrict__ B,
                    int ldb, float beta, bf16 *C, int ldc) {
    extern __shared__ __align__(128) unsigned char gemm_smem[];
    bf16 *smem = (bf16 *)gemm_smem; // [STAGES][2][TILE_ELEMS]: A tile then B tile per stage

    // block -> (tile_m, tile_n), GROUP_M tile rows at a time, column-major inside a group
    const int tiles_m = (M + GEMM_BM - 1) / GEMM_BM, tiles_n = (N + GEMM_BN - 1) / GEMM_BN;
    const int per_group = GEMM_GROUP_M * tiles_n, group = blockIdx.x / per_group;
    const int first_m = group * GEMM_GROUP_M, group_rows = min(tiles_m - first_m, GEMM_GROUP_M);
    const int tile_m = first_m + (blockIdx.x % per_group) % group_rows;
    const int tile_n = (blockIdx.x % per_group) / group_rows;
    const int m0 = tile_m * GEMM_BM, n0 = tile_n * GEMM_BN;

    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const int wm0 = (warp / GEMM_WARPS_N) * GEMM_WM, wn0 = (warp % GEMM_WARPS_N) * GEMM_WN;

    float acc[GEMM_MI][GEMM_NI][4];
#pragma unroll
    for (int mi = 0; mi < GEMM_MI; mi++)
#pragma unroll
        for (int ni = 0; ni < GEMM_NI; ni++)
#pragma unroll
            for (int r = 0; r < 4; r++) acc[mi][ni][r] = 0.0f;

    const int k_tiles = (K + GEMM_BK - 1) / GEMM_BK;
    auto stage_a = [&](int s) { return smem + (size_t)s * 2 * TILE_ELEMS; };
    auto stage_b = [&](int s) { return smem + (size_t)s * 2 * TILE_ELEMS + TILE_ELEMS; };
    auto load_stage = [&](int kt) {
        if (kt < k_tiles) {
            const int s = kt % GEMM_STAGES;
            load_tile<A_KMAJOR>(stage_a(s), A, lda, M, K, m0, kt * GEMM_BK);
            load_tile<B_KMAJOR>(stage_b(s), B, ldb, N, K, n0, kt * GEMM_BK);
        }
        cp_async_commit(); // an empty group past the end keeps the wait counts uniform
    };

#pragma unroll
    for (int s = 0; s < GEMM_STAGES - 1; s++) load_stage(s);

    for (int kt = 0; kt < k_tiles; kt++) {
        cp_async_wait<GEMM_STAGES - 2>(); // this thread's copies of step kt have landed
        __syncthreads();                  // everyone's have; and step kt-1's stage is free again
        load_stage(kt + GEMM_STAGES - 1); // into the stage step kt-1 used
        const bf16 *As = stage_a(kt % GEMM_STAGES), *Bs = stage_b(kt % GEMM_STAGES);
#pragma unroll
        for (int kk = 0; kk < GEMM_BK; kk += 16) {
            uint32_t a[GEMM_MI][4], b[GEMM_NI][2];
            load_a_frags<A_KMAJOR>(a, As, wm0, kk, lane);
            load_b_frags<B_KMAJOR>(b, Bs, wn0, kk, lane);
#pragma unroll
            for (int mi = 0; mi < GEMM_MI; mi++)
#pragma unroll
                for (int ni = 0; ni < GEMM_NI; ni++) mma_bf16(acc[mi][ni], a[mi], b[ni]);
        }
    }
    cp_async_wait<0>(); // no copy in flight when the block exits

    // epilogue: C = alpha * acc + beta * C, bf16 pairs; N is a multiple of 8, so a pair
    // (2t, 2t+1) of an n8 tile is inside or outside together
    const int g = lane / 4, t = lane % 4;
#pragma unroll
    for (int mi = 0; mi < GEMM_MI; mi++)
#pragma unroll
        for (int half = 0; half < 2; half++) {
            const int row = m0 + wm0 + mi * 16 + g + half * 8;
            if (row >= M) continue;
#pragma unroll
            for (int ni = 0; ni < GEMM_NI; ni++) {
                const int col = n0 + wn0 + ni * 8 + 2 * t;
                if (col >= N) continue;
                __nv_bfloat162 *dst = (__nv_bfloat162 *)(C + (size_t)row * ldc + col);
                float v0 = alpha * acc[mi][ni][2 * half], v1 = alpha * acc[mi][ni][2 * half + 1];
                if (beta != 0.0f) {
                    const float2 old = __bfloat1622float2(*dst);
                    v0 += beta * old.x, v1 += beta * old.y;
                }
                *dst = __floats2bfloat162_rn(v0, v1);
            }
        }
}

// ---- host side ----

static bool aligned(const void *p, size_t bytes) { return (uintptr_t)p % bytes == 0; }

int gemm_own_takes(int transA, int transB, int M, int N, int K, const bf16 *A, int lda, const bf16 *B, int ldb,
                   const bf16 *C, int ldc) {
    (void)transA, (void)transB;
    if (M <= 0 || N <= 0 || K <= 0) return 0;
    if (M % 8 || N % 8 || K % 8) return 0;
    if (lda % 8 || ldb % 8 || ldc % 2) return 0;
    return aligned(A, 16) && aligned(B, 16) && aligned(C, 4);
}

template <bool A_KMAJOR, bool B_KMAJOR>
static void launch_gemm(int M, int N, int K, float alpha, const bf16 *A, int lda, const bf16 *B, int ldb, float beta,
                        bf16 *C, int ldc) {
    static bool configured = false; // one per instantiation
    if (!configured) {
        CUDA_CHECK(cudaFuncSetAttribute(gemm_mma_kernel<A_KMAJOR, B_KMAJOR>,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize, (int)GEMM_SMEM_BYTES));
        configured = true;
    }
    const unsigned int blocks = cdiv(M, GEMM_BM) * cdiv(N, GEMM_BN);
    gemm_mma_kernel<A_KMAJOR, B_KMAJOR>
        <<<blocks, GEMM_THREADS, GEMM_SMEM_BYTES, g_cuda.stream>>>(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    CUDA_CHECK_LAUNCH();
}

void gemm_mma(int transA, int transB, int M, int N, int K, float alpha, const bf16 *A, int lda, const bf16 *B, int ldb,
              float beta, bf16 *C, int ldc) {
    CHECK(gemm_own_takes(transA, transB, M, N, K, A, lda, B, ldb, C, ldc),
          "gemm_mma: the own kernel does not take M=%d N=%d K=%d lda=%d ldb=%d ldc=%d (multiples of 8 and "
          "16-byte aligned operands needed); the caller should have used cuBLAS",
          M, N, K, lda, ldb, ldc);
    // A not transposed: (M,K) rows, k contiguous = K-major; B transposed: (N,K) = K-major
    if (!transA && transB)
        launch_gemm<true, true>(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else if (!transA && !transB)
        launch_gemm<true, false>(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else if (transA && !transB)
        launch_gemm<false, false>(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else
        launch_gemm<false, true>(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

const char *gemm_mma_describe(void) {
    return "mma.sync m16n8k16 bf16, block 128x128x32, 8 warps (64x32 each), 4-stage cp.async, ldmatrix";
}
