// cuda_backend.cu: the CUDA backend's memory functions, its op table and backend_cuda().
// The ops live in cuda_ops.cu (elementwise, norms, classifier, optimizer),
// cuda_matmul.cu (every matmul) and cuda_attention.cu.
#include "cuda_common.cuh"

#include <string.h>

CudaState g_cuda = {};

// ---- scratch buffers ----

static void *scratch_ptr[SCRATCH_COUNT];
static size_t scratch_bytes[SCRATCH_COUNT];

void *cuda_scratch(ScratchSlot slot, size_t bytes) {
    if (bytes > scratch_bytes[slot]) {
        if (scratch_ptr[slot]) CUDA_CHECK(cudaFree(scratch_ptr[slot])); // syncs the device
        size_t grown = bytes + bytes / 4;                               // room to grow a little
        CUDA_CHECK(cudaMalloc(&scratch_ptr[slot], grown));
        scratch_bytes[slot] = grown;
    }
    return scratch_ptr[slot];
}

// ---- memory ----

static void *cuda_alloc(size_t bytes) {
    void *p = NULL;
    size_t n = bytes ? bytes : 256; // never NULL, even for an empty tensor
    cudaError_t err = cudaMalloc(&p, n);
    if (err != cudaSuccess) {
        size_t free_b = 0, total_b = 0;
        cudaMemGetInfo(&free_b, &total_b);
        check_failed(__FILE__, __LINE__,
                     "out of GPU memory allocating %zu bytes (%.2f GiB free of %.2f GiB): %s; "
                     "a smaller batch or sequence length needs less",
                     bytes, free_b / 1073741824.0, total_b / 1073741824.0, cudaGetErrorString(err));
    }
    CUDA_CHECK(cudaMemsetAsync(p, 0, n, g_cuda.stream));
    return p;
}

static void cuda_free(void *p) {
    if (p) CUDA_CHECK(cudaFree(p));
}

static void cuda_zero(void *p, size_t bytes) {
    if (bytes) CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, g_cuda.stream));
}

static void cuda_upload(void *dst, const void *src, size_t bytes) {
    if (!bytes) return;
    CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, g_cuda.stream));
    CUDA_CHECK(cudaStreamSynchronize(g_cuda.stream)); // the caller may reuse src at once
}

static void cuda_download(void *dst, const void *src, size_t bytes) {
    if (!bytes) return;
    CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, g_cuda.stream));
    CUDA_CHECK(cudaStreamSynchronize(g_cuda.stream));
}

__global__ void f32_to_bf16_kernel(bf16 *dst, const float *src, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        dst[i] = __float2bfloat16(src[i]);
}

__global__ void bf16_to_f32_kernel(float *dst, const bf16 *src, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        dst[i] = __bfloat162float(src[i]);
}

// fp32 <-> bf16 transfers go through a device staging buffer of at most this many floats
#define STAGING_MAX_FLOATS ((size_t)16 << 20) // 64 MiB

static void cuda_upload_f32(void *dst, const float *src, size_t n) {
    if (!n) return;
    size_t chunk = n < STAGING_MAX_FLOATS ? n : STAGING_MAX_FLOATS;
    float *staging = (float *)cuda_scratch(SCRATCH_STAGING, chunk * sizeof(float));
    for (size_t i = 0; i < n; i += chunk) {
        size_t m = n - i < chunk ? n - i : chunk;
        CUDA_CHECK(cudaMemcpyAsync(staging, src + i, m * sizeof(float), cudaMemcpyHostToDevice, g_cuda.stream));
        unsigned int grid = cdiv(m, 256) < 4096 ? cdiv(m, 256) : 4096;
        f32_to_bf16_kernel<<<grid, 256, 0, g_cuda.stream>>>((bf16 *)dst + i, staging, m);
        CUDA_CHECK_LAUNCH();
    }
    CUDA_CHECK(cudaStreamSynchronize(g_cuda.stream));
}

static void cuda_download_f32(float *dst, const void *src, size_t n) {
    if (!n) return;
    size_t chunk = n < STAGING_MAX_FLOATS ? n : STAGING_MAX_FLOATS;
    float *staging = (float *)cuda_scratch(SCRATCH_STAGING, chunk * sizeof(float));
    for (size_t i = 0; i < n; i += chunk) {
        size_t m = n - i < chunk ? n - i : chunk;
        unsigned int grid = cdiv(m, 256) < 4096 ? cdiv(m, 256) : 4096;
        bf16_to_f32_kernel<<<grid, 256, 0, g_cuda.stream>>>(staging, (const bf16 *)src + i, m);
        CUDA_CHECK_LAUNCH();
        CUDA_CHECK(cudaMemcpyAsync(dst + i, staging, m * sizeof(float), cudaMemcpyDeviceToHost, g_cuda.stream));
    }
    CUDA_CHECK(cudaStreamSynchronize(g_cuda.stream));
}

static void cuda_synchronize(void) {
    CUDA_CHECK(cudaStreamSynchronize(g_cuda.stream));
    CUDA_CHECK(cudaGetLastError());
}

// ---- the table ----

// matmul_w16.cu
void cuda_matmul_forward_w16(void *out, const void *inp, const uint16_t *weight, int wtype, int N, int C, int OC);

static Backend cuda_backend_table;

static void fill_table(Backend *b) {
    memset(b, 0, sizeof *b);
    b->name = "cuda";
    b->elem_bytes = sizeof(bf16);
    b->has_master = 1;
    b->alloc = cuda_alloc;
    b->free = cuda_free;
    b->zero = cuda_zero;
    b->upload = cuda_upload;
    b->download = cuda_download;
    b->upload_f32 = cuda_upload_f32;
    b->download_f32 = cuda_download_f32;
    b->synchronize = cuda_synchronize;
    b->embedding_forward = cuda_embedding_forward;
    b->embedding_backward = cuda_embedding_backward;
    b->rmsnorm_forward = cuda_rmsnorm_forward;
    b->rmsnorm_backward = cuda_rmsnorm_backward;
    b->matmul_forward = cuda_matmul_forward;
    b->matmul_backward = cuda_matmul_backward;
    b->residual_forward = cuda_residual_forward;
    b->rope_forward = cuda_rope_forward;
    b->rope_backward = cuda_rope_backward;
    b->rope_forward_at = cuda_rope_forward_at;
    b->kv_store = cuda_kv_store;
    b->attention_decode = cuda_attention_decode;
    b->matmul_forward_w16 = cuda_matmul_forward_w16;
    b->attention_forward = cuda_attention_forward;
    b->attention_backward = cuda_attention_backward;
    b->swiglu_forward = cuda_swiglu_forward;
    b->swiglu_backward = cuda_swiglu_backward;
    b->classifier = cuda_classifier;
    b->sum_squares = cuda_sum_squares;
    b->adamw_update = cuda_adamw_update;
}

extern "C" Backend *backend_cuda(int device, const char **why_not) {
    static int ready = 0;
    static char why[256];
    if (ready) {
        CHECK(device == g_cuda.device, "the CUDA backend is already set up on device %d (asked for %d)", g_cuda.device,
              device);
        return &cuda_backend_table;
    }
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess || count == 0) {
        snprintf(why, sizeof why, "no CUDA device visible (cudaGetDeviceCount: %s)",
                 err != cudaSuccess ? cudaGetErrorString(err) : "0 devices");
        if (why_not) *why_not = why;
        return NULL;
    }
    if (device < 0 || device >= count) {
        snprintf(why, sizeof why, "CUDA device %d does not exist (%d visible)", device, count);
        if (why_not) *why_not = why;
        return NULL;
    }
    CUDA_CHECK(cudaSetDevice(device));
    g_cuda.device = device;
    CUDA_CHECK(cudaDeviceGetAttribute(&g_cuda.num_sms, cudaDevAttrMultiProcessorCount, device));
    CUDA_CHECK(cudaStreamCreateWithFlags(&g_cuda.stream, cudaStreamNonBlocking));
    cuda_matmul_init();
    fill_table(&cuda_backend_table);
    ready = 1;
    return &cuda_backend_table;
}
