// selftest.cu -- standalone native self-test of libmla against a CPU float64
// reference. Prints PASS/FAIL per (case, kernel version); exit code 0 when
// all pass, 1 on any failure, 77 when there is no CUDA device (after checking
// that the library reports it cleanly). `selftest --quick` runs a subset.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <string>
#include <vector>
#include <random>
#include <algorithm>

#include "mla.h"

static int g_fail = 0;

#define API(call)                                                                        \
  do {                                                                                   \
    int s_ = (call);                                                                     \
    if (s_ != MLA_OK) {                                                                  \
      printf("  API error %d (%s) at %s:%d: %s\n", s_, #call, __FILE__, __LINE__, mla_last_error()); \
      return false;                                                                      \
    }                                                                                    \
  } while (0)

struct Case {
  const char* name;
  int dtype, b, s_q, h_q, h_kv, causal, parts;  // parts 0 = library default
  std::vector<int> lens;
  int pad_q, pad_o;  // extra elements per head row in q / out (strided layouts)
  bool quick;
  // KV values of token t scaled by 1 + ramp * t / len: the row maxima of S grow
  // along the sequence, so the running max is raised on later pages too (v9's
  // lazy max takes its rare path with a real rescale, not only on page 0)
  float ramp = 0.f;
};

static uint16_t to16(float f, int dtype) {
  if (dtype == MLA_DTYPE_BF16) { __nv_bfloat16 h = __float2bfloat16(f); uint16_t u; memcpy(&u, &h, 2); return u; }
  __half h = __float2half(f); uint16_t u; memcpy(&u, &h, 2); return u;
}
static double from16(uint16_t u, int dtype) {
  if (dtype == MLA_DTYPE_BF16) { __nv_bfloat16 h; memcpy(&h, &u, 2); return (double)__bfloat162float(h); }
  __half h; memcpy(&h, &u, 2); return (double)__half2float(h);
}

static bool run_case(const Case& c, int version, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uq(-2.f, 2.f), ukv(-1.f, 1.f);
  const int D = 576, DV = 512, P = 64;
  const int b = c.b, s_q = c.s_q, h_q = c.h_q, h_kv = c.h_kv, G = h_q / h_kv;
  int max_pages = 1;
  std::vector<int> npages(b);
  int total_pages = 0;
  for (int i = 0; i < b; ++i) { npages[i] = (c.lens[i] + P - 1) / P; max_pages = std::max(max_pages, npages[i]); total_pages += npages[i]; }
  const int max_blocks = max_pages + 2;
  const int num_blocks = total_pages + 3;  // 3 spare pages full of NaN
  const uint16_t nan16 = (c.dtype == MLA_DTYPE_BF16) ? 0x7fc0 : 0x7e00;

  // q with padded head stride
  const int64_t q_sh = D + c.pad_q, q_ss = q_sh * h_q, q_sb = q_ss * s_q;
  std::vector<uint16_t> q((size_t)q_sb * b, nan16);
  for (int i = 0; i < b; ++i) for (int s = 0; s < s_q; ++s) for (int h = 0; h < h_q; ++h) for (int d = 0; d < D; ++d)
    q[i * q_sb + s * q_ss + h * q_sh + d] = to16(uq(rng), c.dtype);
  // kv cache: all NaN, then valid tokens random
  const int64_t kv_sh = D, kv_st = (int64_t)h_kv * D, kv_sb = kv_st * P;
  std::vector<uint16_t> kv((size_t)kv_sb * num_blocks, nan16);
  std::vector<int> perm(num_blocks);
  for (int i = 0; i < num_blocks; ++i) perm[i] = i;
  std::shuffle(perm.begin(), perm.end(), rng);
  std::vector<int32_t> bt((size_t)b * max_blocks);
  int next = 0;
  for (int i = 0; i < b; ++i)
    for (int j = 0; j < max_blocks; ++j)
      bt[i * max_blocks + j] = (j < npages[i]) ? perm[next++] : ((j & 1) ? 0x7fffffff : -123456);  // garbage beyond
  for (int i = 0; i < b; ++i)
    for (int t = 0; t < c.lens[i]; ++t) {
      int page = bt[i * max_blocks + t / P];
      for (int hk = 0; hk < h_kv; ++hk)
        for (int d = 0; d < D; ++d)
          kv[page * kv_sb + (t % P) * kv_st + hk * kv_sh + d] =
              to16(ukv(rng) * (1.f + c.ramp * t / c.lens[i]), c.dtype);
    }
  const int64_t o_sh = DV + c.pad_o, o_ss = o_sh * h_q, o_sb = o_ss * s_q;
  const size_t out_elems = (size_t)o_sb * b, lse_elems = (size_t)b * h_q * s_q;
  const double scale = 1.0 / sqrt(576.0);

  // device buffers
  void *dq, *dkv, *dbt, *dlen, *dout, *dlse, *dsched, *dns, *dws = NULL;
  API(mla_malloc(&dq, q.size() * 2));
  API(mla_malloc(&dkv, kv.size() * 2));
  API(mla_malloc(&dbt, bt.size() * 4));
  API(mla_malloc(&dlen, b * 4));
  API(mla_malloc(&dout, out_elems * 2));
  API(mla_malloc(&dlse, lse_elems * 4));
  API(mla_memcpy_h2d(dq, q.data(), q.size() * 2));
  API(mla_memcpy_h2d(dkv, kv.data(), kv.size() * 2));
  API(mla_memcpy_h2d(dbt, bt.data(), bt.size() * 4));
  API(mla_memcpy_h2d(dlen, c.lens.data(), b * 4));
  API(mla_memset(dout, 0xff, out_elems * 2));  // poison: NaN
  API(mla_memset(dlse, 0xff, lse_elems * 4));
  int parts = c.parts;
  if (parts == 0) API(mla_get_num_sm_parts(s_q, h_q, h_kv, &parts));
  API(mla_malloc(&dsched, (size_t)parts * MLA_SCHED_INTS * 4));
  API(mla_malloc(&dns, (b + 1) * 4));
  void* stream = NULL;
  API(mla_stream_create(&stream));
  API(mla_plan((const int32_t*)dlen, b, s_q, h_q, h_kv, max_blocks, parts, (int32_t*)dsched, (int32_t*)dns, stream));
  size_t ws = 0;
  API(mla_workspace_bytes(b, s_q, h_q, h_kv, parts, &ws));
  if (ws) {
    API(mla_malloc(&dws, ws));
    API(mla_memset(dws, 0xff, ws));  // poison partials too
  }
  mla_decode_params p;
  memset(&p, 0, sizeof p);
  p.q = dq; p.kvcache = dkv; p.block_table = (const int32_t*)dbt; p.cache_seqlens = (const int32_t*)dlen;
  p.out = dout; p.lse = (float*)dlse;
  p.q_batch_stride = q_sb; p.q_seq_stride = q_ss; p.q_head_stride = q_sh;
  p.kv_block_stride = kv_sb; p.kv_token_stride = kv_st; p.kv_head_stride = kv_sh;
  p.block_table_batch_stride = max_blocks;
  p.out_batch_stride = o_sb; p.out_seq_stride = o_ss; p.out_head_stride = o_sh;
  p.dtype = c.dtype; p.b = b; p.s_q = s_q; p.h_q = h_q; p.h_kv = h_kv; p.d_k = D; p.d_v = DV;
  p.num_blocks = num_blocks; p.block_size = P; p.max_blocks_per_seq = max_blocks; p.causal = c.causal;
  p.kernel_version = version; p.softmax_scale = (float)scale;
  // every other case launches plainly (options.dependent_launch = 0), the rest with the defaults
  mla_decode_options plain;
  mla_default_options(&plain);
  plain.dependent_launch = 0;
  API(mla_decode(&p, (seed & 1) ? &plain : NULL, (const int32_t*)dsched, (const int32_t*)dns, parts, dws, ws, stream));
  API(mla_stream_synchronize(stream));

  std::vector<uint16_t> out(out_elems);
  std::vector<float> lse(lse_elems);
  std::vector<int32_t> ns(b + 1), sched((size_t)parts * MLA_SCHED_INTS);
  API(mla_memcpy_d2h(out.data(), dout, out_elems * 2));
  API(mla_memcpy_d2h(lse.data(), dlse, lse_elems * 4));
  API(mla_memcpy_d2h(ns.data(), dns, (b + 1) * 4));
  API(mla_memcpy_d2h(sched.data(), dsched, sched.size() * 4));
  mla_free(dq); mla_free(dkv); mla_free(dbt); mla_free(dlen); mla_free(dout); mla_free(dlse);
  mla_free(dsched); mla_free(dns); mla_free(dws);
  mla_stream_destroy(stream);

  // reference + compare. Error model: P is rounded to the 16-bit type before
  // P V (relative error <= eps = 2^-9 bf16, 2^-11 fp16), which moves O by at
  // most eps * sum(w |v|) / sum(w) (oabs below, the attention-weighted mean
  // |V|: it grows with the KV amplitude of the ramp cases while O itself may
  // cancel to near 0), and O is rounded once more on output (rtol * |o|).
  // Tolerance: atol + rtol |o| + 2 eps oabs.
  const double rtol = (c.dtype == MLA_DTYPE_BF16) ? 1.0 / 128 : 1.0 / 1024;
  const double atol = (c.dtype == MLA_DTYPE_BF16) ? 2e-3 : 3e-4;
  const double eps_p = (c.dtype == MLA_DTYPE_BF16) ? 1.0 / 512 : 1.0 / 2048;
  double max_err = 0, max_lse_rel = 0, num = 0, den = 0, max_tol_use = 0;
  long bad = 0, bad_lse = 0, nonfinite = 0;
  std::vector<double> logit, o(DV), oabs(DV);
  for (int i = 0; i < b; ++i)
    for (int s = 0; s < s_q; ++s)
      for (int h = 0; h < h_q; ++h) {
        const int hk = h / G, len = c.lens[i];
        int lim = len - 1;
        if (c.causal) lim = std::min(lim, len - s_q + s);
        double ref_lse = INFINITY;
        std::fill(o.begin(), o.end(), 0.0);
        std::fill(oabs.begin(), oabs.end(), 0.0);
        if (lim >= 0) {
          logit.assign(lim + 1, 0.0);
          double mx = -INFINITY;
          for (int t = 0; t <= lim; ++t) {
            int page = bt[i * max_blocks + t / P];
            const uint16_t* kr = &kv[page * kv_sb + (t % P) * kv_st + hk * kv_sh];
            const uint16_t* qr = &q[i * q_sb + s * q_ss + h * q_sh];
            double acc = 0;
            for (int d = 0; d < D; ++d) acc += from16(qr[d], c.dtype) * from16(kr[d], c.dtype);
            logit[t] = acc * scale;
            mx = std::max(mx, logit[t]);
          }
          double sum = 0;
          for (int t = 0; t <= lim; ++t) {
            double w = exp(logit[t] - mx);
            sum += w;
            int page = bt[i * max_blocks + t / P];
            const uint16_t* vr = &kv[page * kv_sb + (t % P) * kv_st + hk * kv_sh];
            for (int d = 0; d < DV; ++d) {
              o[d] += w * from16(vr[d], c.dtype);
              oabs[d] += w * fabs(from16(vr[d], c.dtype));
            }
          }
          for (int d = 0; d < DV; ++d) { o[d] /= sum; oabs[d] /= sum; }
          ref_lse = mx + log(sum);
        }
        for (int d = 0; d < DV; ++d) {
          double got = from16(out[i * o_sb + s * o_ss + h * o_sh + d], c.dtype);
          if (!std::isfinite(got)) { ++nonfinite; continue; }
          double e = fabs(got - o[d]);
          max_err = std::max(max_err, e);
          num += e * e; den += o[d] * o[d];
          const double tol = atol + rtol * fabs(o[d]) + 2 * eps_p * oabs[d];
          max_tol_use = std::max(max_tol_use, e / tol);
          if (e > tol) ++bad;
        }
        double gl = lse[((size_t)i * h_q + h) * s_q + s];
        if (std::isinf(ref_lse)) {
          if (!(std::isinf(gl) && gl > 0)) ++bad_lse;
        } else {
          double rel = fabs(gl - ref_lse) / std::max(1.0, fabs(ref_lse));
          if (!std::isfinite(gl)) rel = INFINITY;
          max_lse_rel = std::max(max_lse_rel, rel);
          if (rel > 1e-5) ++bad_lse;
        }
      }
  int total_splits = ns[b], split_reqs = 0;
  for (int i = 0; i < b; ++i) split_reqs += (ns[i + 1] - ns[i]) > 1;
  bool ok = bad == 0 && bad_lse == 0 && nonfinite == 0 && total_splits <= b + parts;
  printf("%s  v%d %-9s %-44s parts=%-4d splits=%-4d split_reqs=%-2d max_abs_err=%.3e relL2=%.3e max_lse_rel=%.3e tol_use=%.2f bad=%ld bad_lse=%ld nonfinite=%ld\n",
         ok ? "PASS" : "FAIL", version, mla_kernel_name(version), c.name, parts, total_splits, split_reqs, max_err,
         den > 0 ? sqrt(num / den) : 0.0, max_lse_rel, max_tol_use, bad, bad_lse, nonfinite);
  return ok;
}

static bool api_checks() {
  // argument validation must fail cleanly before any launch
  mla_decode_params p;
  memset(&p, 0, sizeof p);
  int32_t dummy_i = 0;
  bool ok = true;
  auto expect = [&](int got, int want, const char* what) {
    if (got != want) { printf("  api check '%s': got %d want %d (%s)\n", what, got, want, mla_last_error()); ok = false; }
  };
  expect(mla_decode(NULL, NULL, &dummy_i, &dummy_i, 1, NULL, 0, NULL), MLA_ERR_INVALID_ARGUMENT, "NULL params");
  expect(mla_decode(&p, NULL, &dummy_i, &dummy_i, 1, NULL, 0, NULL), MLA_ERR_INVALID_ARGUMENT, "NULL q");
  static __align__(16) char fake[64];
  p.q = fake; p.kvcache = fake; p.block_table = (const int32_t*)fake; p.cache_seqlens = (const int32_t*)fake;
  p.out = fake; p.lse = (float*)fake;
  p.dtype = 0; p.b = 1; p.s_q = 1; p.h_q = 16; p.h_kv = 1; p.d_k = 576; p.d_v = 512; p.num_blocks = 1;
  p.block_size = 64; p.max_blocks_per_seq = 1; p.kernel_version = 2; p.softmax_scale = 0.04f;
  p.q_head_stride = 576; p.q_seq_stride = 576 * 16; p.q_batch_stride = 576 * 16;
  p.kv_token_stride = 576; p.kv_block_stride = 576 * 64; p.block_table_batch_stride = 1;
  p.out_head_stride = 512; p.out_seq_stride = 512 * 16; p.out_batch_stride = 512 * 16;
  mla_decode_params t;
  t = p; t.d_k = 512; expect(mla_decode(&t, NULL, &dummy_i, &dummy_i, 1, fake, 0, NULL), MLA_ERR_UNSUPPORTED, "d_k 512");
  t = p; t.block_size = 32; expect(mla_decode(&t, NULL, &dummy_i, &dummy_i, 1, fake, 0, NULL), MLA_ERR_UNSUPPORTED, "block 32");
  t = p; t.h_kv = 3; expect(mla_decode(&t, NULL, &dummy_i, &dummy_i, 1, fake, 0, NULL), MLA_ERR_INVALID_ARGUMENT, "h_q % h_kv");
  t = p; t.s_q = 0; expect(mla_decode(&t, NULL, &dummy_i, &dummy_i, 1, fake, 0, NULL), MLA_ERR_INVALID_ARGUMENT, "s_q 0");
  t = p; t.b = 0; expect(mla_decode(&t, NULL, &dummy_i, &dummy_i, 1, fake, 0, NULL), MLA_ERR_INVALID_ARGUMENT, "b 0");
  t = p; t.dtype = 7; expect(mla_decode(&t, NULL, &dummy_i, &dummy_i, 1, fake, 0, NULL), MLA_ERR_INVALID_ARGUMENT, "dtype");
  t = p; t.kernel_version = MLA_KERNEL_VERSION_MAX + 1;
  expect(mla_decode(&t, NULL, &dummy_i, &dummy_i, 1, fake, 0, NULL), MLA_ERR_UNSUPPORTED, "version MAX+1");
  t = p; t.q_head_stride = 577; expect(mla_decode(&t, NULL, &dummy_i, &dummy_i, 1, fake, 0, NULL), MLA_ERR_UNSUPPORTED, "q stride 577");
  t = p; expect(mla_decode(&t, NULL, &dummy_i, &dummy_i, 1, fake, 0, NULL), MLA_ERR_INVALID_ARGUMENT, "workspace too small");
  t = p; t.kernel_version = -1;
  expect(mla_decode(&t, NULL, &dummy_i, &dummy_i, 1, fake, 0, NULL), MLA_ERR_UNSUPPORTED, "version -1");
  mla_decode_options o;
  expect(mla_default_options(&o), MLA_OK, "default options");
  expect(o.dependent_launch == 1 ? MLA_OK : -1, MLA_OK, "default dependent_launch is 1");
  o.dependent_launch = 2;
  expect(mla_decode(&p, &o, &dummy_i, &dummy_i, 1, fake, 1 << 20, NULL), MLA_ERR_INVALID_ARGUMENT, "dependent_launch 2");
  mla_default_options(&o);
  o.reserved[3] = 1;
  expect(mla_decode(&p, &o, &dummy_i, &dummy_i, 1, fake, 1 << 20, NULL), MLA_ERR_INVALID_ARGUMENT, "options.reserved");
  // the automatic choice needs no device; an explicit version is returned as it is
  int v = -1;
  t = p; t.kernel_version = MLA_KERNEL_AUTO; t.h_q = 16;
  expect(mla_select_kernel(&t, 132, 132, &v), MLA_OK, "select h_q=16");
  expect(v >= MLA_KERNEL_VERSION_MIN && v <= MLA_KERNEL_VERSION_MAX ? MLA_OK : -1, MLA_OK, "auto picks a rung (h_q=16)");
  t.h_q = 128;
  expect(mla_select_kernel(&t, 66, 132, &v), MLA_OK, "select h_q=128");
  expect(v >= MLA_KERNEL_VERSION_MIN && v <= MLA_KERNEL_VERSION_MAX ? MLA_OK : -1, MLA_OK, "auto picks a rung (h_q=128)");
  t.kernel_version = 7;
  expect(mla_select_kernel(&t, 66, 132, &v) == MLA_OK && v == 7 ? MLA_OK : -1, MLA_OK, "explicit version kept");
  expect(mla_select_kernel(&t, 66, 0, &v), MLA_ERR_INVALID_ARGUMENT, "sm_count 0");
  expect(strcmp(mla_kernel_name(MLA_KERNEL_AUTO), "auto") == 0 ? MLA_OK : -1, MLA_OK, "kernel name of 0 is auto");
  printf("%s  api argument validation\n", ok ? "PASS" : "FAIL");
  return ok;
}

int main(int argc, char** argv) {
  // selftest [--quick] [--versions LO-HI]
  bool quick = false;
  int vlo = MLA_KERNEL_AUTO, vhi = MLA_KERNEL_VERSION_MAX;  // 0: the automatic choice
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--quick") == 0) quick = true;
    else if (strcmp(argv[i], "--versions") == 0 && i + 1 < argc) {
      if (sscanf(argv[++i], "%d-%d", &vlo, &vhi) != 2) { printf("bad --versions (want LO-HI)\n"); return 2; }
    }
  }
  printf("libmla selftest (abi %d, sizeof params %d, sizeof options %d, sizeof props %d)\n", mla_abi_version(),
         mla_sizeof_params(), mla_sizeof_options(), mla_sizeof_device_props());
  int n = 0;
  int st = mla_device_count(&n);
  if (st != MLA_OK) {
    printf("no device: status %d (%s): %s\n", st, mla_status_string(st), mla_last_error());
    bool ok = api_checks();
    int st2 = mla_malloc((void**)&n, 16);
    printf("%s  mla_malloc without device returns status %d: %s\n", st2 == MLA_ERR_NO_DEVICE ? "PASS" : "FAIL", st2,
           mla_last_error());
    return (ok && st == MLA_ERR_NO_DEVICE && st2 == MLA_ERR_NO_DEVICE) ? 77 : 1;
  }
  mla_device_props props;
  if (mla_get_device_props(0, &props) == MLA_OK)
    printf("device: %s, %d SMs, cc %d.%d, sm clock %d MHz, mem clock %d MHz, bus %d bit, L2 %lld B, mem %lld B, driver %d, runtime %d\n",
           props.name, props.sm_count, props.cc_major, props.cc_minor, props.sm_clock_khz / 1000,
           props.mem_clock_khz / 1000, props.mem_bus_width_bits, (long long)props.l2_cache_bytes,
           (long long)props.total_global_mem, props.driver_version, props.runtime_version);
  if (!api_checks()) ++g_fail;
  const int BF = MLA_DTYPE_BF16, FP = MLA_DTYPE_FP16;
  std::vector<Case> cases = {
      {"bf16 hkv1 sq1 lens{1,200,0,1000}", BF, 4, 1, 16, 1, 0, 0, {1, 200, 0, 1000}, 0, 0, true},
      {"fp16 hkv2 sq2 causal strided lens{65,1,300}", FP, 3, 2, 32, 2, 1, 0, {65, 1, 300}, 64, 16, true},
      {"bf16 hq128 2tiles lens{3000,64} auto-parts", BF, 2, 1, 128, 1, 0, 0, {3000, 64}, 0, 0, false},
      {"fp16 sq3 causal parts=3 lens{2,130,0,700,1}", FP, 5, 3, 8, 1, 1, 3, {2, 130, 0, 700, 1}, 0, 0, true},
      {"bf16 sq2 causal hkv2 parts=1 lens{0,129,64}", BF, 3, 2, 16, 2, 1, 1, {0, 129, 64}, 8, 2, false},
      {"fp16 all-zero lens{0,0}", FP, 2, 2, 16, 1, 1, 0, {0, 0}, 0, 0, true},
      {"bf16 hq64 sq2 causal parts=7 lens{2049,3001}", BF, 2, 2, 64, 1, 1, 7, {2049, 3001}, 0, 0, false},
      {"fp16 hq128 sq1 lens{777} parts=5", FP, 1, 1, 128, 1, 0, 5, {777}, 0, 0, false},
      {"bf16 hq16 hkv4 sq4 causal lens{5,64,63,400}", BF, 4, 4, 16, 4, 1, 0, {5, 64, 63, 400}, 0, 0, false},
      {"bf16 hq128 ramp8 lens{1500,300} parts=3", BF, 2, 1, 128, 1, 0, 3, {1500, 300}, 0, 0, true, 8.f},
      {"fp16 sq2 causal ramp8 lens{700,64}", FP, 2, 2, 64, 1, 1, 0, {700, 64}, 0, 0, false, 8.f},
      // eight row tiles per KV head: the automatic choice's v11 branch (kernels/src/api.cu)
      {"bf16 hq128 sq4 causal 8tiles lens{130,400}", BF, 2, 4, 128, 1, 1, 0, {130, 400}, 0, 0, true},
  };
  uint32_t seed = 1000;
  for (const Case& c : cases) {
    if (quick && !c.quick) continue;
    for (int v = vlo; v <= vhi; ++v)
      if (!run_case(c, v, seed++)) ++g_fail;
  }
  printf("%s: %d failure(s)\n", g_fail ? "FAILED" : "ALL PASSED", g_fail);
  return g_fail ? 1 : 0;
}
