// cuda_tools.cu: the C entry points of cuda_tools.h for the GPU tests and benchmarks.
#include "cuda_common.cuh"
#include "cuda_tools.h"

void cuda_gemm_with(int impl, int transA, int transB, int M, int N, int K, float alpha, const void *A, int lda,
                    const void *B, int ldb, float beta, void *C, int ldc) {
    const bf16 *a = (const bf16 *)A, *b = (const bf16 *)B;
    bf16 *c = (bf16 *)C;
    if (impl == CUDA_GEMM_OWN)
        gemm_own(transA, transB, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc);
    else if (impl == CUDA_GEMM_MMA)
        gemm_mma(transA, transB, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc);
    else if (impl == CUDA_GEMM_WGMMA)
        gemm_wgmma(transA, transB, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc);
    else if (impl == CUDA_GEMM_CUBLAS)
        gemm_cublas(transA, transB, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc);
    else
        fail("cuda_gemm_with: unknown implementation %d", impl);
}

int cuda_gemm_own_takes(int transA, int transB, int M, int N, int K, const void *A, int lda, const void *B, int ldb,
                        const void *C, int ldc) {
    return gemm_own_takes(transA, transB, M, N, K, (const bf16 *)A, lda, (const bf16 *)B, ldb, (const bf16 *)C, ldc);
}

int cuda_gemm_wgmma_available(void) { return gemm_wgmma_available(); }

const char *cuda_gemm_describe(int impl) {
    switch (impl) {
    case CUDA_GEMM_CUBLAS: return "cuBLAS cublasGemmEx, bf16, fp32 compute";
    case CUDA_GEMM_OWN: return gemm_wgmma_available() ? gemm_wgmma_describe() : gemm_mma_describe();
    case CUDA_GEMM_MMA: return gemm_mma_describe();
    case CUDA_GEMM_WGMMA: return gemm_wgmma_describe();
    default: return "unknown";
    }
}

// splitmix64 of (seed, i): independent of the launch shape
__global__ void fill_uniform_kernel(bf16 *dst, size_t n, float scale, uint64_t seed) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ull;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        const float u = (float)(z >> 40) * (1.0f / 16777216.0f); // [0, 1), 24 bits
        dst[i] = __float2bfloat16(scale * (2.0f * u - 1.0f));
    }
}

void cuda_fill_uniform(void *dst, size_t n, float scale, uint64_t seed) {
    if (!n) return;
    const unsigned int grid = cdiv(n, 256) < 8192 ? cdiv(n, 256) : 8192;
    fill_uniform_kernel<<<grid, 256, 0, g_cuda.stream>>>((bf16 *)dst, n, scale, seed);
    CUDA_CHECK_LAUNCH();
}

double cuda_time_ms(void (*fn)(void *ctx), void *ctx) {
    static cudaEvent_t start, stop; // made once: no allocation per timed run
    static int made = 0;
    if (!made) {
        CUDA_CHECK(cudaEventCreate(&start));
        CUDA_CHECK(cudaEventCreate(&stop));
        made = 1;
    }
    CUDA_CHECK(cudaEventRecord(start, g_cuda.stream));
    fn(ctx);
    CUDA_CHECK(cudaEventRecord(stop, g_cuda.stream));
    CUDA_CHECK(cudaEventSynchronize(stop));
    CUDA_CHECK(cudaGetLastError());
    float ms = 0.0f;
    CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    return ms;
}

const char *cuda_device_describe(void) {
    static char text[320];
    cudaDeviceProp prop;
    CUDA_CHECK(cudaGetDeviceProperties(&prop, g_cuda.device));
    snprintf(text, sizeof text, "%s (sm_%d%d, %d SMs)", prop.name, prop.major, prop.minor, prop.multiProcessorCount);
    return text;
}
