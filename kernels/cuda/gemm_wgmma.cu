// gemm_wgmma.cu: strap's own bf16 GEMM for Hopper (sm_90a): wgmma.mma_async, fp32
// accumulation. Same contract and the same calls taken as gemm_mma.cu (cuda_common.cuh):
//
//   C (M,N) = alpha * op(A) (M,K) @ op(B) (K,N) + beta * C        row-major
//
// Design (one block computes a 128 x 256 tile of C):
//   - 256 threads = 2 warpgroups; warpgroup w owns rows 64w..64w+63 of the tile and keeps
//     their 64 x 256 fp32 accumulators in registers (128 per thread); per k16 step it
//     issues one wgmma.m64n256k16 reading both operands from shared memory through matrix
//     descriptors;
//   - K is walked in steps of BK = 64 through a 4-stage ring of shared-memory tiles filled
//     by cp.async (16-byte copies, the edges zero-filled) by all 256 threads, written
//     straight into wgmma's canonical 128-byte-swizzle layouts (below), so no transpose is
//     ever materialised: the descriptors' transpose bits cover the four layouts;
//   - after a stage's copies land, every thread fences them to the async proxy
//     (fence.proxy.async) before the barrier that lets wgmma read them; one wgmma group
//     stays in flight across the next step's barrier and copy issue, so copies run 2 steps
//     ahead (STAGES - 2) and never refill a stage a running group reads.
//   Not yet: TMA loads, a producer warp, ping-pong warpgroups, a persistent grid.
//
// Shared-memory layouts (PTX ISA "Shared Memory Matrix Layout", 128B swizzle, bf16). Every
// tile starts on a 1024-byte boundary; the 16-byte chunk c of a 128-byte row r is stored at
// chunk c ^ (r % 8) (bits 4-6 of the address XOR bits 7-9: the hardware's 128B swizzle):
//   K-major (A not transposed, B transposed): [rows of m or n][64 k], 128-byte rows; 8-row
//     groups 1024 bytes apart (SBO = 1024, LBO unused). A k16 step starts 32 bytes further.
//   MN-major (A transposed, B not transposed): atoms of 8 k-rows x 64 m/n (1024 bytes);
//     atom (k / 8, mn / 64) at ((k / 8) * (COLS / 64) + mn / 64) * 1024; LBO = 1024 (next
//     64 m/n), SBO = COLS / 64 * 1024 (next 8 k). A k16 step starts two k-groups further.
// Accumulator fragment (m64nNk16, fp32): warp q of the warpgroup holds rows 16q + g and
// 16q + g + 8 (g = lane / 4); d[4i + 0..1] = (16q + g, 8i + 2t..2t+1), d[4i + 2..3] = the
// same columns 8 rows down (t = lane % 4).
#include "cuda_common.cuh"

#include <stdint.h>

#define WG_BM          128
#define WG_BN          256
#define WG_BK          64
#define WG_STAGES      4
#define WG_PREFETCH    (WG_STAGES - 2) // k-tiles loaded ahead: one more stage is read by the wgmma group in flight
#define WG_THREADS     256
#define WG_GROUP_M     8
#define WG_A_BYTES     (WG_BM * WG_BK * 2)                 // 16 KiB
#define WG_B_BYTES     (WG_BN * WG_BK * 2)                 // 32 KiB
#define WG_STAGE_BYTES (WG_A_BYTES + WG_B_BYTES)           // 48 KiB
#define WG_SMEM_BYTES  (WG_STAGES * WG_STAGE_BYTES + 1024) // + room to align the base to 1024

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define STRAP_WGMMA 1 // this compilation pass targets sm_90a
#endif

#ifdef STRAP_WGMMA

// 64-bit shared-memory matrix descriptor, 128-byte swizzle
__device__ __forceinline__ uint64_t smem_desc(uint32_t addr, uint32_t lbo, uint32_t sbo) {
    return (uint64_t)((addr & 0x3FFFF) >> 4) | ((uint64_t)((lbo >> 4) & 0x3FFF) << 16) |
           ((uint64_t)((sbo >> 4) & 0x3FFF) << 32) | (1ull << 62);
}

__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
// wait until at most N of this warpgroup's committed wgmma groups are still running
template <int N> __device__ __forceinline__ void wgmma_wait() {
    asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
// Ties the accumulators to this point of the instruction stream: wgmma writes them
// asynchronously, which the compiler cannot see, so reads after a wait (and writes before an
// issue) must not be moved across it. Empty volatile asm statements keep their order.
__device__ __forceinline__ void fence_acc(float acc[128]) {
#pragma unroll
    for (int i = 0; i < 128; i++) asm volatile("" : "+f"(acc[i])::"memory");
}
// cp.async's writes (generic proxy) made visible to wgmma's reads (async proxy)
__device__ __forceinline__ void fence_proxy_async() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

// d (64 x 256 fp32, this warpgroup's) += A (64 x 16, descriptor) @ B (16 x 256, descriptor)
template <int TRANS_A, int TRANS_B>
__device__ __forceinline__ void wgmma_m64n256k16(float d[128], uint64_t desc_a, uint64_t desc_b) {
    asm volatile("{\n"
                 ".reg .pred p;\n"
                 "setp.ne.b32 p, %130, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16 {"
                 "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15,"
                 "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31,"
                 "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47,"
                 "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63,"
                 "%64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79,"
                 "%80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95,"
                 "%96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111,"
                 "%112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127"
                 "}, %128, %129, p, 1, 1, %131, %132;\n"
                 "}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
                   "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
                   "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]),
                   "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]),
                   "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]),
                   "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]),
                   "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]),
                   "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]),
                   "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), "+f"(d[64]),
                   "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]),
                   "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]),
                   "+f"(d[79]), "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]),
                   "+f"(d[86]), "+f"(d[87]), "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]),
                   "+f"(d[93]), "+f"(d[94]), "+f"(d[95]), "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]),
                   "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]), "+f"(d[104]), "+f"(d[105]), "+f"(d[106]),
                   "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]), "+f"(d[112]), "+f"(d[113]),
                   "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]), "+f"(d[120]),
                   "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])
                 : "l"(desc_a), "l"(desc_b), "r"(1), "n"(TRANS_A), "n"(TRANS_B));
}

// One operand tile of one stage: ROWS x 64 (K-major) or 64 x COLS (MN-major), from X where
// element (mn, k) is X[mn * ld + k] (KMAJOR) or X[k * ld + mn]; chunks outside MN x K are
// zero-filled (MN and K are multiples of 8).
template <bool KMAJOR, int MN_TILE>
__device__ __forceinline__ void wg_load_tile(uint32_t tile, const bf16 *X, int ld, int MN, int K, int mn0, int k0) {
    constexpr int CHUNKS = MN_TILE * WG_BK / 8;
    static_assert(CHUNKS % WG_THREADS == 0, "every thread copies the same number of chunks");
#pragma unroll
    for (int i = 0; i < CHUNKS / WG_THREADS; i++) {
        const int c = threadIdx.x + i * WG_THREADS;
        int mn, k;
        uint32_t off;
        if (KMAJOR) {
            const int row = c / (WG_BK / 8), kc = c % (WG_BK / 8);
            mn = mn0 + row, k = k0 + kc * 8;
            off = row * 128 + ((kc ^ (row & 7)) << 4);
        } else {
            const int krow = c / (MN_TILE / 8), mc = c % (MN_TILE / 8);
            mn = mn0 + mc * 8, k = k0 + krow;
            const int atom = (krow / 8) * (MN_TILE / 64) + mc / 8;
            off = atom * 1024 + (krow % 8) * 128 + (((mc % 8) ^ (krow % 8)) << 4);
        }
        const bool inside = mn < MN && k < K;
        const bf16 *src = inside ? X + (KMAJOR ? (size_t)mn * ld + k : (size_t)k * ld + mn) : X;
        cp_async16(tile + off, src, inside ? 16 : 0);
    }
}

#endif // STRAP_WGMMA

template <bool A_KMAJOR, bool B_KMAJOR>
__global__ void __launch_bounds__(WG_THREADS, 1)
    gemm_wgmma_kernel(int M, int N, int K, float alpha, const bf16 *__restrict__ A, int lda, const bf16 *__restrict__ B,
                      int ldb, float beta, bf16 *C, int ldc) {
#ifdef STRAP_WGMMA
    extern __shared__ __align__(1024) unsigned char wg_smem[];
    const uint32_t base = (smem_u32(wg_smem) + 1023u) & ~1023u; // swizzle atoms need 1024-byte alignment

    const int tiles_m = (M + WG_BM - 1) / WG_BM, tiles_n = (N + WG_BN - 1) / WG_BN;
    const int per_group = WG_GROUP_M * tiles_n, group = blockIdx.x / per_group;
    const int first_m = group * WG_GROUP_M, group_rows = min(tiles_m - first_m, WG_GROUP_M);
    const int m0 = (first_m + (blockIdx.x % per_group) % group_rows) * WG_BM;
    const int n0 = ((blockIdx.x % per_group) / group_rows) * WG_BN;
    const int wg = threadIdx.x / 128, warp_in_wg = (threadIdx.x / 32) % 4, lane = threadIdx.x % 32;

    float acc[128];
#pragma unroll
    for (int i = 0; i < 128; i++) acc[i] = 0.0f;

    const int k_tiles = (K + WG_BK - 1) / WG_BK;
    auto load_stage = [&](int kt) {
        if (kt < k_tiles) {
            const uint32_t a = base + (kt % WG_STAGES) * WG_STAGE_BYTES, b = a + WG_A_BYTES;
            wg_load_tile<A_KMAJOR, WG_BM>(a, A, lda, M, K, m0, kt * WG_BK);
            wg_load_tile<B_KMAJOR, WG_BN>(b, B, ldb, N, K, n0, kt * WG_BK);
        }
        cp_async_commit(); // an empty group past the end keeps the wait counts uniform
    };
#pragma unroll
    for (int s = 0; s < WG_PREFETCH; s++) load_stage(s);

    // Step kt reads stage kt % STAGES while the wgmma group of step kt-1 may still run on
    // stage (kt-1) % STAGES; the copies issued in step kt fill stage (kt+2) % STAGES, last
    // read by step kt-2, whose group every warpgroup waited for before this step's barrier.
    for (int kt = 0; kt < k_tiles; kt++) {
        cp_async_wait<WG_PREFETCH - 1>(); // this thread's copies of step kt have landed
        fence_proxy_async();
        __syncthreads(); // everyone's have; the wgmma groups of step kt-2 are complete
        load_stage(kt + WG_PREFETCH);
        const uint32_t a = base + (kt % WG_STAGES) * WG_STAGE_BYTES, b = a + WG_A_BYTES;
        fence_acc(acc);
        wgmma_fence();
#pragma unroll
        for (int j = 0; j < WG_BK / 16; j++) {
            const uint64_t da = A_KMAJOR
                                    ? smem_desc(a + wg * 64 * 128 + j * 32, 16, 1024)
                                    : smem_desc(a + wg * 1024 + j * 2 * (WG_BM / 64) * 1024, 1024, (WG_BM / 64) * 1024);
            const uint64_t db = B_KMAJOR ? smem_desc(b + j * 32, 16, 1024)
                                         : smem_desc(b + j * 2 * (WG_BN / 64) * 1024, 1024, (WG_BN / 64) * 1024);
            wgmma_m64n256k16<A_KMAJOR ? 0 : 1, B_KMAJOR ? 0 : 1>(acc, da, db);
        }
        wgmma_commit();
        wgmma_wait<1>(); // step kt-1's group is done; step kt's runs on into the next step
        fence_acc(acc);
    }
    wgmma_wait<0>();
    fence_acc(acc);
    cp_async_wait<0>();

    // epilogue: C = alpha * acc + beta * C as bf16 pairs (N multiple of 8: pairs are whole)
    const int g = lane / 4, t = lane % 4;
    const int row_base = m0 + wg * 64 + warp_in_wg * 16 + g;
#pragma unroll
    for (int half = 0; half < 2; half++) {
        const int row = row_base + half * 8;
        if (row >= M) continue;
#pragma unroll
        for (int i = 0; i < WG_BN / 8; i++) {
            const int col = n0 + i * 8 + 2 * t;
            if (col >= N) continue;
            __nv_bfloat162 *dst = (__nv_bfloat162 *)(C + (size_t)row * ldc + col);
            float v0 = alpha * acc[4 * i + 2 * half], v1 = alpha * acc[4 * i + 2 * half + 1];
            if (beta != 0.0f) {
                const float2 old = __bfloat1622float2(*dst);
                v0 += beta * old.x, v1 += beta * old.y;
            }
            *dst = __floats2bfloat162_rn(v0, v1);
        }
    }
#else
    // compiled for another architecture: gemm_wgmma_available() keeps the host from launching it
    (void)M, (void)N, (void)K, (void)alpha, (void)A, (void)lda, (void)B, (void)ldb, (void)beta, (void)C, (void)ldc;
    __trap();
#endif
}

// ---- host side ----

int gemm_wgmma_available(void) {
    static int known = -1;
    if (known < 0) {
        cudaDeviceProp prop;
        CUDA_CHECK(cudaGetDeviceProperties(&prop, g_cuda.device));
        cudaFuncAttributes attr;
        CUDA_CHECK(cudaFuncGetAttributes(&attr, gemm_wgmma_kernel<true, true>));
        // sm_90 device, and the binary carries sm_90a code for the kernel (not sm_80 code run on it)
        known = prop.major == 9 && attr.binaryVersion == 90 && prop.sharedMemPerBlockOptin >= WG_SMEM_BYTES;
    }
    return known;
}

template <bool A_KMAJOR, bool B_KMAJOR>
static void launch_wgmma(int M, int N, int K, float alpha, const bf16 *A, int lda, const bf16 *B, int ldb, float beta,
                         bf16 *C, int ldc) {
    static bool configured = false; // one per instantiation
    if (!configured) {
        CUDA_CHECK(cudaFuncSetAttribute(gemm_wgmma_kernel<A_KMAJOR, B_KMAJOR>,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize, WG_SMEM_BYTES));
        configured = true;
    }
    const unsigned int blocks = cdiv(M, WG_BM) * cdiv(N, WG_BN);
    gemm_wgmma_kernel<A_KMAJOR, B_KMAJOR>
        <<<blocks, WG_THREADS, WG_SMEM_BYTES, g_cuda.stream>>>(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    CUDA_CHECK_LAUNCH();
}

void gemm_wgmma(int transA, int transB, int M, int N, int K, float alpha, const bf16 *A, int lda, const bf16 *B,
                int ldb, float beta, bf16 *C, int ldc) {
    CHECK(gemm_wgmma_available(), "gemm_wgmma: needs an sm_90 GPU and a build with sm_90a code");
    CHECK(gemm_own_takes(transA, transB, M, N, K, A, lda, B, ldb, C, ldc),
          "gemm_wgmma: the own kernel does not take M=%d N=%d K=%d lda=%d ldb=%d ldc=%d", M, N, K, lda, ldb, ldc);
    if (!transA && transB)
        launch_wgmma<true, true>(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else if (!transA && !transB)
        launch_wgmma<true, false>(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else if (transA && !transB)
        launch_wgmma<false, false>(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else
        launch_wgmma<false, true>(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

const char *gemm_wgmma_describe(void) {
    return "wgmma.m64n256k16 bf16 (sm_90a), block 128x256x64, 2 warpgroups, 4-stage cp.async, 128B swizzle";
}
