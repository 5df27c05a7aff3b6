"""Smoke test of the README's main job on a tiny subset: files exist and the table has every solver."""

import benchmarks.__main__ as bench


def test_full_benchmark_writes_report_and_plots(tmp_path, capsys):
    assert bench.main(["--full", "--out", str(tmp_path), "--problems", "2", "--no-progress"]) == 0
    report = (tmp_path / "report.md").read_text()
    for solver in bench.FULL + bench.DAMPING:
        assert f"| {solver} |" in report
    assert "Damping rules: NIST and the classic problems" in report
    for row in ("SciPy curve_fit, plain Python f | ", "lsq curve_fit, plain Python f | ",
                "lsq curve_fit, @lsq.model (jets, jac='auto') | ", "lsq fit, built-in gaussian | "):
        assert row in report
    assert "NIST certified standard deviations through curve_fit" in report and "std errors with LRE >= 4" in report
    assert "target: LRE >= 4, Lanczos1 >= 3" in report
    for row in ("| Poisson MLE |", "| Cramer-Rao bound |", "| lsq curve_fit, composite (analytic J) |"):
        assert row in report
    assert "| lsq newton |" in report and "| lsq lm secant |" in report and "| scipy L-BFGS-B |" in report
    for section in ("Which method when", "Poisson maximum likelihood", "MLE time / least-squares time",
                    "Composite models", "The everyday path", "Start-up in a fresh process",
                    "Gpufit's 2-D Gaussian benchmark",
                    "fits per second", "Synthetic curve-fitting problems", "Time against problem size",
                    "bundle adjustment", "Large dense", "The floor of any numba package"):
        assert section in report
    from benchmarks.large import BA_SOLVERS, DENSE_SOLVERS
    for solver in BA_SOLVERS + DENSE_SOLVERS:
        assert f"| {solver} |" in report
    assert "| nan |" not in report  # every dense child process ran
    assert (tmp_path / "bundle_adjustment.png").exists()
    pngs = list(tmp_path.glob("*.png"))
    assert len(pngs) >= 8
    assert (tmp_path / "batch_throughput.png").exists()
    assert all(p.stat().st_size > 1000 for p in pngs)
    assert "NIST StRD" in capsys.readouterr().out


def test_cold_run_reports_the_compile_of_a_fresh_process(tmp_path):
    from benchmarks.compile_profile import run_cold

    script = tmp_path / "one_kernel.py"  # numba caches only functions defined in a real file
    script.write_text("import numba\n\n@numba.njit(cache=True)\ndef twice(v):\n    return 2.0 * v\n\n"
                      "assert twice(1.5) == 3.0\n")
    cache = tmp_path / "cache"
    cold = run_cold(str(script), str(cache))
    assert [f for f, _, _ in cold["functions"]] == ["__main__.twice"]
    assert cold["functions"][0][1] > 0 and cold["import"] > 0
    warm = run_cold(str(script), str(cache))  # the same cache: loaded, nothing compiled
    assert warm["functions"] == []


def test_readme_example_is_extracted_for_the_cold_start_section():
    from benchmarks.coldstart import readme_example

    src = readme_example()
    assert "lsq.fit(" in src and "curve_fit_batch" in src
    compile(src, "README", "exec")
