// bench.cu -- tiny benchmark driver for libmla: the two ceilings, then every
// kernel version on FlashMLA's decode shapes. Accounting (FlashMLA's):
//   FLOPs = 2*b*h_q*s_q*s_k*(576+512)
//   bytes = 2*b*(s_q*h_q*576 + s_k*h_kv*576 + s_q*h_q*512)
// (with sum over requests of s_k for variable lengths).
// Each config also cross-checks v2..vN against v1 (max |diff| of out and lse).
// `bench [bf16|fp16] [min_version [max_version]]`: other versions are skipped
// (v1 is still run once per config as the cross-check reference).
// A config with var=1 spreads the lengths evenly over [s_k/2, 3*s_k/2] (mean s_k).
// When one call's KV set would fit in L2, calls rotate over disjoint page sets
// (block tables) so that each call reads DRAM ("rot" column).
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <algorithm>
#include <numeric>
#include <random>
#include <string>
#include <vector>
#include "mla.h"

#define CHECK(call)                                                                                \
  do {                                                                                             \
    int s_ = (call);                                                                               \
    if (s_ != MLA_OK) { printf("error %d at %s:%d (%s): %s\n", s_, __FILE__, __LINE__, #call, mla_last_error()); exit(1); } \
  } while (0)

__global__ void fill16(uint16_t* x, size_t n, uint32_t seed, float amp, int fp16) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    uint32_t h = (uint32_t)(i * 2654435761ull) ^ seed ^ (uint32_t)(i >> 32) * 97u;
    h ^= h >> 15; h *= 2246822519u; h ^= h >> 13; h *= 3266489917u; h ^= h >> 16;
    float f = (((h & 0xffffff) / 16777215.f) * 2.f - 1.f) * amp;
    if (fp16) { __half v = __float2half(f); x[i] = *reinterpret_cast<uint16_t*>(&v); }
    else { __nv_bfloat16 v = __float2bfloat16(f); x[i] = *reinterpret_cast<uint16_t*>(&v); }
  }
}

static float median(std::vector<float> v) { std::sort(v.begin(), v.end()); return v[v.size() / 2]; }

static double u16f(uint16_t u, int fp16) {
  if (fp16) { __half h; memcpy(&h, &u, 2); return __half2float(h); }
  __nv_bfloat16 h; memcpy(&h, &u, 2); return __bfloat162float(h);
}

struct Cfg { int b, s_q, h_q, h_kv, s_k, var; };

int main(int argc, char** argv) {
  int dtype = MLA_DTYPE_BF16;
  if (argc > 1 && !strcmp(argv[1], "fp16")) dtype = MLA_DTYPE_FP16;
  const int vmin = (argc > 2) ? atoi(argv[2]) : 1;
  const int vmax = (argc > 3) ? atoi(argv[3]) : MLA_KERNEL_VERSION_MAX;
  mla_device_props pr;
  CHECK(mla_get_device_props(0, &pr));
  printf("device: %s, %d SMs, sm clock %d MHz, mem clock %d MHz, bus %d bit, L2 %lld MB\n", pr.name, pr.sm_count,
         pr.sm_clock_khz / 1000, pr.mem_clock_khz / 1000, pr.mem_bus_width_bits, (long long)pr.l2_cache_bytes >> 20);
  double gbps = 0, tf = 0;
  CHECK(mla_measure_copy_bandwidth((size_t)2 << 30, 20, &gbps));
  printf("ceiling: device-to-device copy (2 GiB x 20, read+write): %.0f GB/s\n", gbps);
  int gs = getenv("MLA_BENCH_NO_GEMM") ? MLA_ERR_UNSUPPORTED : mla_measure_gemm_bf16(8192, 8192, 8192, 20, NULL, &tf);
  if (gs == MLA_OK) printf("ceiling: cuBLAS bf16 GEMM 8192^3: %.0f TFLOP/s\n", tf);
  else printf("ceiling: cuBLAS bf16 GEMM unavailable: %s\n", mla_last_error());

  std::vector<Cfg> cfgs = {{128, 1, 16, 1, 8192, 0},  {128, 1, 32, 1, 8192, 0},  {128, 1, 64, 1, 8192, 0},
                           {128, 1, 128, 1, 8192, 0}, {128, 1, 128, 1, 8192, 1}, {1, 1, 128, 1, 32768, 0},
                           {128, 2, 128, 1, 4096, 0}};
  const int D = 576, DV = 512, P = 64;
  // one big page pool reused by every config (1.2 GB for 16384 pages)
  const int pool_pages = 16384 + 512;
  const size_t page_elems = (size_t)P * D;  // h_kv == 1
  void* kv;
  CHECK(mla_malloc(&kv, pool_pages * page_elems * 2));
  fill16<<<2048, 256>>>((uint16_t*)kv, pool_pages * page_elems, 777u, 1.f, dtype);
  CHECK(mla_synchronize());
  std::mt19937 rng(42);
  std::vector<std::string> summary;
  printf("\n%-34s %-4s %10s %7s %10s %9s %9s %4s %12s\n", "config", "ver", "us(med)", "spread", "us(rot)", "GB/s", "TFLOP/s", "rot", "vN-v1 maxdiff");
  // MLA_BENCH_ONLY=3,6: run only those config indices (0-based; for profilers)
  std::vector<bool> run_cfg(cfgs.size(), getenv("MLA_BENCH_ONLY") == NULL);
  if (const char* only = getenv("MLA_BENCH_ONLY"))
    for (char* e; *only; only = (*e == ',') ? e + 1 : e) {
      const long k = strtol(only, &e, 10);
      if (e == only) break;
      if (k >= 0 && k < (long)cfgs.size()) run_cfg[k] = true;
    }
  for (size_t ci = 0; ci < cfgs.size(); ++ci) {
    if (!run_cfg[ci]) continue;
    const Cfg& c = cfgs[ci];
    std::vector<int32_t> lens(c.b, c.s_k);
    if (c.var) {  // evenly spread over [s_k/2, 3*s_k/2] (mean s_k), in random order
      for (int i = 0; i < c.b; ++i) lens[i] = c.s_k / 2 + (int)((int64_t)c.s_k * i / std::max(1, c.b - 1));
      std::shuffle(lens.begin(), lens.end(), rng);
    }
    double sum_sk = 0;
    int pages_per_req = 1, pages_needed = 0;
    for (int i = 0; i < c.b; ++i) {
      sum_sk += lens[i];
      pages_per_req = std::max(pages_per_req, (lens[i] + P - 1) / P);
      pages_needed += (lens[i] + P - 1) / P;
    }
    if (pages_needed > pool_pages) { printf("skip config: needs %d pages > pool %d\n", pages_needed, pool_pages); continue; }
    const int rot = std::max(1, std::min(32, pool_pages / pages_needed));
    const int rot_used = (pages_needed * (double)page_elems * 2 < 400e6) ? rot : 1;
    std::vector<int> perm(pool_pages);
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    std::vector<int32_t> bt((size_t)rot_used * c.b * pages_per_req, 0);
    {
      size_t next = 0;  // distinct pages for every page that is read; unread entries 0
      for (int r = 0; r < rot_used; ++r)
        for (int i = 0; i < c.b; ++i)
          for (int j = 0; j < (lens[i] + P - 1) / P; ++j) bt[((size_t)r * c.b + i) * pages_per_req + j] = perm[next++];
    }
    void *q, *bt_d, *len_d, *out, *lse, *sched, *ns, *ws = NULL, *out1, *lse1;
    const size_t q_elems = (size_t)c.b * c.s_q * c.h_q * D, o_elems = (size_t)c.b * c.s_q * c.h_q * DV;
    const size_t l_elems = (size_t)c.b * c.h_q * c.s_q;
    CHECK(mla_malloc(&q, q_elems * 2));
    fill16<<<1024, 256>>>((uint16_t*)q, q_elems, 4242u, 2.f, dtype);
    CHECK(mla_malloc(&bt_d, bt.size() * 4));
    CHECK(mla_memcpy_h2d(bt_d, bt.data(), bt.size() * 4));
    CHECK(mla_malloc(&len_d, c.b * 4));
    CHECK(mla_memcpy_h2d(len_d, lens.data(), c.b * 4));
    CHECK(mla_malloc(&out, o_elems * 2));
    CHECK(mla_malloc(&lse, l_elems * 4));
    CHECK(mla_malloc(&out1, o_elems * 2));
    CHECK(mla_malloc(&lse1, l_elems * 4));
    int parts;
    CHECK(mla_get_num_sm_parts(c.s_q, c.h_q, c.h_kv, &parts));
    CHECK(mla_malloc(&sched, parts * MLA_SCHED_INTS * 4));
    CHECK(mla_malloc(&ns, (c.b + 1) * 4));
    CHECK(mla_plan((const int32_t*)len_d, c.b, c.s_q, c.h_q, c.h_kv, pages_per_req, parts, (int32_t*)sched, (int32_t*)ns, NULL));
    size_t wsb;
    CHECK(mla_workspace_bytes(c.b, c.s_q, c.h_q, c.h_kv, parts, &wsb));
    if (wsb) CHECK(mla_malloc(&ws, wsb));
    mla_decode_params p;
    memset(&p, 0, sizeof p);
    p.q = q; p.kvcache = kv; p.block_table = (const int32_t*)bt_d; p.cache_seqlens = (const int32_t*)len_d;
    p.out = out; p.lse = (float*)lse;
    p.q_head_stride = D; p.q_seq_stride = (int64_t)c.h_q * D; p.q_batch_stride = (int64_t)c.s_q * c.h_q * D;
    p.kv_head_stride = D; p.kv_token_stride = D; p.kv_block_stride = (int64_t)P * D;
    p.block_table_batch_stride = pages_per_req;
    p.out_head_stride = DV; p.out_seq_stride = (int64_t)c.h_q * DV; p.out_batch_stride = (int64_t)c.s_q * c.h_q * DV;
    p.dtype = dtype; p.b = c.b; p.s_q = c.s_q; p.h_q = c.h_q; p.h_kv = c.h_kv; p.d_k = D; p.d_v = DV;
    p.num_blocks = pool_pages; p.block_size = P; p.max_blocks_per_seq = pages_per_req; p.causal = 1;
    p.softmax_scale = 1.f / sqrtf(576.f);
    const double flops = 2.0 * c.h_q * c.s_q * sum_sk * (D + DV);
    const double bytes = 2.0 * ((double)c.b * c.s_q * c.h_q * D + sum_sk * c.h_kv * D + (double)c.b * c.s_q * c.h_q * DV);
    char name[64];
    snprintf(name, sizeof name, "b=%d s_q=%d h_q=%d h_kv=%d s_k=%d%s", c.b, c.s_q, c.h_q, c.h_kv, c.s_k, c.var ? "v" : "");
    for (int v = 1; v <= MLA_KERNEL_VERSION_MAX; ++v) {
      if (v > 1 && (v < vmin || v > vmax)) continue;
      p.kernel_version = v;
      p.out = (v == 1) ? out1 : out;
      p.lse = (float*)((v == 1) ? lse1 : lse);
      const int warm = v == 1 ? 1 : 5, iters = v == 1 ? 3 : 20, trials = v == 1 ? 3 : 7;
      std::vector<float> us(trials);
      CHECK(mla_bench_decode(&p, 1, NULL, (const int32_t*)sched, (const int32_t*)ns, parts, ws, wsb, NULL, warm, iters, trials, us.data()));
      float med = median(us);
      const float spread = (*std::max_element(us.begin(), us.end()) - *std::min_element(us.begin(), us.end())) / med * 100.f;
      // rotating over page sets (DRAM-resident KV)
      float med_rot = med;
      if (rot_used > 1) {
        void *e0, *e1;
        CHECK(mla_event_create(&e0)); CHECK(mla_event_create(&e1));
        std::vector<float> ur(trials);
        for (int t = 0; t < trials; ++t) {
          CHECK(mla_event_record(e0, NULL));
          for (int i = 0; i < iters; ++i) {
            mla_decode_params pr2 = p;
            pr2.block_table = (const int32_t*)bt_d + (size_t)(i % rot_used) * c.b * pages_per_req;
            CHECK(mla_decode(&pr2, NULL, (const int32_t*)sched, (const int32_t*)ns, parts, ws, wsb, NULL));
          }
          CHECK(mla_event_record(e1, NULL));
          CHECK(mla_event_synchronize(e1));
          float ms; CHECK(mla_event_elapsed_ms(e0, e1, &ms));
          ur[t] = ms * 1000.f / iters;
        }
        med_rot = median(ur);
        mla_event_destroy(e0); mla_event_destroy(e1);
      }
      float tt = std::max(med, med_rot);
      char diff[64] = "";
      if (v >= 2) {
        CHECK(mla_synchronize());
        // final call of each version used page set 0? re-run both on set 0 for the cross-check
        mla_decode_params a = p; a.kernel_version = 1; a.out = out1; a.lse = (float*)lse1;
        CHECK(mla_decode(&a, NULL, (const int32_t*)sched, (const int32_t*)ns, parts, ws, wsb, NULL));
        CHECK(mla_decode(&p, NULL, (const int32_t*)sched, (const int32_t*)ns, parts, ws, wsb, NULL));
        CHECK(mla_synchronize());
        std::vector<uint16_t> o1(o_elems), o2(o_elems);
        std::vector<float> l1(l_elems), l2(l_elems);
        CHECK(mla_memcpy_d2h(o1.data(), out1, o_elems * 2)); CHECK(mla_memcpy_d2h(o2.data(), out, o_elems * 2));
        CHECK(mla_memcpy_d2h(l1.data(), lse1, l_elems * 4)); CHECK(mla_memcpy_d2h(l2.data(), lse, l_elems * 4));
        double mo = 0, ml = 0;
        for (size_t i = 0; i < o_elems; ++i) {
          double d = fabs(u16f(o1[i], dtype) - u16f(o2[i], dtype));
          if (!(d == d)) d = INFINITY;
          mo = std::max(mo, d);
        }
        for (size_t i = 0; i < l_elems; ++i) {
          double d = fabs((double)l1[i] - l2[i]) / std::max(1.0, fabs((double)l1[i]));
          if (!(d == d)) d = INFINITY;
          ml = std::max(ml, d);
        }
        snprintf(diff, sizeof diff, "o %.1e lse %.1e", mo, ml);
      }
      printf("%-34s v%-3d %10.1f %6.1f%% %10.1f %9.0f %9.1f %4d %12s\n", name, v, med, spread, med_rot, bytes / (tt * 1e-6) / 1e9,
             flops / (tt * 1e-6) / 1e12, rot_used, diff);
      char line[160];
      snprintf(line, sizeof line, "%-34s v%d %9.1f us %6.0f GB/s %6.1f TFLOP/s", name, v, tt, bytes / (tt * 1e-6) / 1e9,
               flops / (tt * 1e-6) / 1e12);
      summary.push_back(line);
      fflush(stdout);
    }
    mla_free(q); mla_free(bt_d); mla_free(len_d); mla_free(out); mla_free(lse); mla_free(out1); mla_free(lse1);
    mla_free(sched); mla_free(ns); mla_free(ws);
  }
  mla_free(kv);
  printf("\nSUMMARY (%s, max of plain and rotating medians)\n", dtype == MLA_DTYPE_FP16 ? "fp16" : "bf16");
  for (const std::string& l : summary) printf("%s\n", l.c_str());
  return 0;
}
