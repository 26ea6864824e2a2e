#!/usr/bin/env python3
"""tests/gpu/layout_check.py: checks, without a GPU, the index arithmetic of the own GEMM
kernels against the PTX ISA's definitions of the layouts they rely on:
  - gemm_mma.cu: ldmatrix (.x4, with and without .trans) and mma.m16n8k16 fragments, read
    from the padded shared-memory tiles the kernel writes, for the four operand layouts,
    every warp of a 128x128 block tile, two k16 steps;
  - gemm_wgmma.cu: the canonical 128-byte-swizzle layouts (K-major and MN-major) as wgmma
    reads them through the descriptors (start, LBO, SBO) the kernel builds, from the tiles
    its cp.async writes, both warpgroups, four k16 steps.
The formulas below are transcribed from the kernels: keep them in step when a kernel's
indexing changes. Usage: python3 tests/gpu/layout_check.py (needs numpy)."""
import numpy as np

rng = np.random.default_rng(0)

# ---- gemm_mma.cu ----
BM = BN = 128; BK = 32; KP = 40; MP = 136; MI = 4; NI = 4

def ldmatrix(smem, addrs, trans):
    # lanes 8i..8i+7 give the row addresses of matrix i; lane l gets row l/4, elements
    # 2(l%4), 2(l%4)+1 (with .trans: of the transposed matrix)
    out = [[None] * 4 for _ in range(32)]
    for i in range(4):
        mat = np.array([smem[addrs[8 * i + r]:addrs[8 * i + r] + 8] for r in range(8)])
        if trans:
            mat = mat.T
        for l in range(32):
            out[l][i] = (mat[l // 4, 2 * (l % 4)], mat[l // 4, 2 * (l % 4) + 1])
    return out

def mma(c, a, b):
    A = np.zeros((16, 16)); B = np.zeros((16, 8)); C = np.zeros((16, 8))
    for l in range(32):
        g, t = l // 4, l % 4
        A[g, 2*t:2*t+2] = a[l][0]; A[g+8, 2*t:2*t+2] = a[l][1]
        A[g, 2*t+8:2*t+10] = a[l][2]; A[g+8, 2*t+8:2*t+10] = a[l][3]
        B[2*t:2*t+2, g] = b[l][0]; B[2*t+8:2*t+10, g] = b[l][1]
        C[g, 2*t:2*t+2] = c[l][0:2]; C[g+8, 2*t:2*t+2] = c[l][2:4]
    D = C + A @ B
    for l in range(32):
        g, t = l // 4, l % 4
        c[l][0:2] = D[g, 2*t:2*t+2]; c[l][2:4] = D[g+8, 2*t:2*t+2]

def check_mma(akmaj, bkmaj):
    A = rng.standard_normal((BM, BK)); B = rng.standard_normal((BK, BN))
    sa = np.full(8192, np.nan); sb = np.full(8192, np.nan)
    for m in range(BM):
        for k in range(BK):
            sa[m * KP + k if akmaj else k * MP + m] = A[m, k]
    for n in range(BN):
        for k in range(BK):
            sb[n * KP + k if bkmaj else k * MP + n] = B[k, n]
    for warp in range(8):
        wm0, wn0 = (warp // 4) * 64, (warp % 4) * 32
        acc = [[[[0.0] * 4 for _ in range(32)] for _ in range(NI)] for _ in range(MI)]
        for kk in (0, 16):
            a = []
            for mi in range(MI):
                m = wm0 + mi * 16
                if akmaj:
                    a.append(ldmatrix(sa, [(m + l % 16) * KP + kk + (l // 16) * 8 for l in range(32)], False))
                else:
                    a.append(ldmatrix(sa, [(kk + l % 8 + (l // 16) * 8) * MP + m + ((l // 8) % 2) * 8
                                           for l in range(32)], True))
            b = [None] * NI
            for j in range(NI // 2):
                n = wn0 + j * 16
                if bkmaj:
                    r = ldmatrix(sb, [(n + l % 8 + (l // 16) * 8) * KP + kk + ((l // 8) % 2) * 8 for l in range(32)], False)
                else:
                    r = ldmatrix(sb, [(kk + l % 8 + ((l // 8) % 2) * 8) * MP + n + (l // 16) * 8 for l in range(32)], True)
                b[2 * j] = [(r[l][0], r[l][1]) for l in range(32)]
                b[2 * j + 1] = [(r[l][2], r[l][3]) for l in range(32)]
            for mi in range(MI):
                for ni in range(NI):
                    mma(acc[mi][ni], a[mi], b[ni])
        ref = A @ B
        for mi in range(MI):
            for ni in range(NI):
                for l in range(32):
                    g, t = l // 4, l % 4
                    for half in range(2):
                        row, col = wm0 + mi * 16 + g + half * 8, wn0 + ni * 8 + 2 * t
                        assert np.allclose(acc[mi][ni][l][2*half:2*half+2], ref[row, col:col+2]), (akmaj, bkmaj, warp)

# ---- gemm_wgmma.cu ----
WBM, WBN, WBK = 128, 256, 64

def swz(o):  # 128B swizzle: address bits 4-6 ^= bits 7-9
    return o ^ ((o >> 3) & 0x70)

def wg_store(smem, base, X, kmaj, mnt):  # X: (mnt, WBK) logical (mn, k); as wg_load_tile
    for c in range(mnt * WBK // 8):
        if kmaj:
            row, kc = c // (WBK // 8), c % (WBK // 8)
            mn, k, off = row, kc * 8, row * 128 + ((kc ^ (row & 7)) << 4)
        else:
            krow, mc = c // (mnt // 8), c % (mnt // 8)
            mn, k = mc * 8, krow
            off = ((krow // 8) * (mnt // 64) + mc // 8) * 1024 + (krow % 8) * 128 + (((mc % 8) ^ (krow % 8)) << 4)
        for e in range(8):
            smem[(base + off) // 2 + e] = X[mn, k + e] if kmaj else X[mn + e, k]

def wg_read(smem, start, lbo, sbo, kmaj, rows):  # canonical layouts of the PTX ISA
    out = np.zeros((rows, 16))
    for mn in range(rows):
        for k in range(16):
            if kmaj:  # ((8,m),(T,2k)):((8T,SBO),(1,T))
                a = start + (mn % 8) * 128 + (mn // 8) * sbo + 2 * k
            else:     # ((T,8,m),(8,k)):((1,T,LBO),(8T,SBO))
                a = start + 2 * (mn % 64) + (mn // 64) * lbo + (k % 8) * 128 + (k // 8) * sbo
            out[mn, k] = smem[swz(a) // 2]
    return out

def check_wgmma(akmaj, bkmaj):
    A = rng.standard_normal((WBM, WBK)); B = rng.standard_normal((WBN, WBK))
    smem = np.full(120000, np.nan)
    a = 1024 * 48; b = a + WBM * WBK * 2  # a stage: 1024-aligned
    wg_store(smem, a, A, akmaj, WBM); wg_store(smem, b, B, bkmaj, WBN)
    for wg in range(2):
        acc = np.zeros((64, WBN))
        for j in range(WBK // 16):
            if akmaj:
                ra = wg_read(smem, a + wg * 64 * 128 + j * 32, 16, 1024, True, 64)
            else:
                ra = wg_read(smem, a + wg * 1024 + j * 2 * (WBM // 64) * 1024, 1024, (WBM // 64) * 1024, False, 64)
            if bkmaj:
                rb = wg_read(smem, b + j * 32, 16, 1024, True, WBN)
            else:
                rb = wg_read(smem, b + j * 2 * (WBN // 64) * 1024, 1024, (WBN // 64) * 1024, False, WBN)
            acc += ra @ rb.T
        assert np.allclose(acc, A[wg * 64:wg * 64 + 64] @ B.T), (akmaj, bkmaj, wg)

for ak in (True, False):
    for bk in (True, False):
        check_mma(ak, bk)
        check_wgmma(ak, bk)
        print("ok: A %s-major, B %s-major (mma.sync fragments, wgmma descriptors)" % ("K" if ak else "M", "K" if bk else "N"))
