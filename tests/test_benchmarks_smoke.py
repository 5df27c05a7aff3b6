"""Smoke test of the README's main job on a tiny subset: files exist and the table has every solver."""

import benchmarks.__main__ as bench


def test_quick_benchmark_writes_report_and_plots(tmp_path, capsys):
    assert bench.main(["--out", str(tmp_path), "--problems", "2", "--no-progress"]) == 0
    report = (tmp_path / "report.md").read_text()
    for solver in bench.QUICK + bench.DAMPING:
        assert f"| {solver} |" in report
    assert "Damping rules: NIST and the classic problems" in report
    for row in ("SciPy curve_fit, plain Python f | ", "lsq curve_fit, plain Python f | ",
                "lsq curve_fit, @lsq.model (no Jacobian) | ", "lsq fit, built-in gaussian | "):
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
