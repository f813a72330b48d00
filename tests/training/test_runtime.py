"""runtime: the automatic precision follows the hardware's native bf16, explicit choices win, threads follow
the affinity mask."""

from __future__ import annotations

import logging

import pytest
import torch

from v2v_pipeline import runtime

CPU = torch.device("cpu")


@pytest.fixture
def restore_threads():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def _cpu(monkeypatch, native: bool, speedup: float = 2.0) -> None:
    monkeypatch.setattr(runtime, "cpu_native_bf16", lambda cpuinfo="/proc/cpuinfo": (native, "mocked query"))
    monkeypatch.setattr(runtime, "cpu_bf16_speedup", lambda: speedup)


def test_auto_is_fp32_on_a_cpu_without_native_bf16(monkeypatch):
    _cpu(monkeypatch, False)
    precision, reason = runtime.choose_precision(CPU, "auto")
    assert precision == "fp32" and "no native bf16" in reason
    with runtime.autocast_for(CPU, "auto"):
        assert not torch.is_autocast_enabled("cpu")


def test_auto_is_bf16_on_a_cpu_with_native_bf16(monkeypatch):
    _cpu(monkeypatch, True)
    assert runtime.choose_precision(CPU, "auto")[0] == "bf16"
    with runtime.autocast_for(CPU, "auto"):
        assert torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16


def test_auto_is_fp32_where_native_bf16_is_measured_slower_than_fp32(monkeypatch):
    """An Intel core with avx512_bf16 but no AMX trained at 0.82x fp32 in bf16: the probe keeps auto at fp32 there."""
    _cpu(monkeypatch, True, speedup=0.8)
    precision, reason = runtime.choose_precision(CPU, "auto")
    assert precision == "fp32" and "native bf16" in reason and "0.80x" in reason and "precision: bf16" in reason
    assert runtime.choose_precision(CPU, "bf16")[0] == "bf16"  # forcing it still works


def test_the_bf16_probe_measures_once_and_leaves_the_random_state_alone():
    runtime._bf16_speedup.cache_clear()
    state = torch.get_rng_state()
    first = runtime.cpu_bf16_speedup()
    assert torch.equal(state, torch.get_rng_state())  # model initialisation after it is unchanged
    assert 0 < first < 100 and first == runtime.cpu_bf16_speedup()
    assert runtime._bf16_speedup.cache_info().hits >= 1


@pytest.mark.parametrize("native", [True, False])
def test_explicit_precision_is_respected(monkeypatch, native):
    _cpu(monkeypatch, native)
    assert runtime.choose_precision(CPU, "fp32") == ("fp32", "set explicitly")
    assert runtime.choose_precision(CPU, "bf16") == ("bf16", "set explicitly")
    with pytest.raises(ValueError, match="fp16 needs a CUDA GPU"):
        runtime.choose_precision(CPU, "fp16")
    with pytest.raises(ValueError, match="precision must be one of"):
        runtime.choose_precision(CPU, "fp8")


@pytest.mark.parametrize(("capability", "expected"), [((8, 0), "bf16"), ((9, 0), "bf16"), ((7, 5), "fp16"),
                                                       ((6, 1), "fp16")])
def test_cuda_rule_is_compute_capability_8(monkeypatch, capability, expected):
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    precision, reason = runtime.choose_precision(torch.device("cuda"), "auto")
    assert precision == expected and f"{capability[0]}.{capability[1]}" in reason


def test_cpu_flags_fallback_reads_cpuinfo(monkeypatch, tmp_path):
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported", raising=False)  # an older torch without the query
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f\n")
    assert runtime.cpu_native_bf16(info)[0] is False
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16\n")
    native, how = runtime.cpu_native_bf16(info)
    assert native and "avx512_bf16" in how
    assert runtime.cpu_native_bf16(tmp_path / "missing")[0] is False  # no cpuinfo (e.g. macOS): not native


def test_the_choice_and_reason_are_logged_and_returned_for_mlflow(monkeypatch, caplog, restore_threads):
    _cpu(monkeypatch, False)
    with caplog.at_level(logging.INFO, logger="v2v_pipeline.runtime"):
        rt = runtime.resolve("cpu", "auto", threads=1, what="training")
    assert (rt.precision, rt.threads) == ("fp32", 1)
    assert "training on cpu in fp32" in caplog.text and "no native bf16" in caplog.text
    params = rt.mlflow_params()
    assert params["runtime/precision"] == "fp32" and "no native bf16" in params["runtime/precision_reason"]


def test_threads_follow_the_affinity_mask(monkeypatch, restore_threads):
    monkeypatch.setattr(runtime.os, "sched_getaffinity", lambda pid: {0, 3, 5})
    assert runtime.available_cpus() == 3
    assert runtime.set_threads(None) == 3 and torch.get_num_threads() == 3
    assert runtime.set_threads(1) == 1 and torch.get_num_threads() == 1  # an explicit train.threads wins
    with pytest.raises(ValueError, match="threads must be >= 1"):
        runtime.compute_threads(0)


def test_data_workers_do_not_compete_with_compute(monkeypatch):
    monkeypatch.setattr(runtime.os, "sched_getaffinity", lambda pid: {0, 1})
    assert runtime.split_cpus(None, 4, need_workers=False) == (2, 0)  # in memory: every CPU computes
    assert runtime.split_cpus(None, 4, need_workers=True) == (1, 1)  # from disk: half the CPUs read
    assert runtime.split_cpus(2, 4, need_workers=True) == (2, 0)
    monkeypatch.setattr(runtime.os, "sched_getaffinity", lambda pid: set(range(16)))
    assert runtime.split_cpus(None, 4, need_workers=True) == (12, 4)
    assert runtime.data_workers(4, threads=14) == 2


def test_compile_is_chosen_only_when_asked_for_and_possible(monkeypatch):
    cpu = torch.device("cpu")
    assert runtime.choose_compile(cpu, False) == (False, "compile: false")
    monkeypatch.delenv("CXX", raising=False)
    monkeypatch.setattr(runtime.shutil, "which", lambda name: None)  # no C++ compiler on this machine
    on, why = runtime.choose_compile(cpu, True)
    assert not on and "no C++ compiler" in why
    monkeypatch.setattr(runtime.shutil, "which", lambda name: f"/usr/bin/{name}")
    on, why = runtime.choose_compile(cpu, True)
    assert on and "/usr/bin/c++" in why


def test_the_compile_choice_is_logged_and_recorded_for_mlflow(monkeypatch, caplog, restore_threads):
    monkeypatch.setattr(runtime.shutil, "which", lambda name: None)
    monkeypatch.delenv("CXX", raising=False)
    with caplog.at_level(logging.INFO, logger="v2v_pipeline.runtime"):
        rt = runtime.resolve("cpu", "fp32", threads=1, what="transfer", compile=True)
    assert not rt.compile and "torch.compile off (asked for, but no C++ compiler" in caplog.text
    assert any(r.levelname == "WARNING" and "no C++ compiler" in r.getMessage() for r in caplog.records)
    params = rt.mlflow_params("transfer/runtime")
    assert params["transfer/runtime/compile"] == "false" and "no C++ compiler" in params["transfer/runtime/compile_reason"]
    assert runtime.resolve("cpu", "fp32", threads=1).mlflow_params()["runtime/compile"] == "false"


def test_busy_cpus_reads_the_runnable_tasks_of_proc_loadavg(tmp_path):
    f = tmp_path / "loadavg"
    f.write_text("2.10 1.50 0.90 3/412 12345\n")  # 3 runnable, one of them the reader
    assert runtime.busy_cpus(samples=2, interval_s=0, loadavg=str(f)) == 2.0
    f.write_text("garbage\n")
    assert runtime.busy_cpus(samples=1, loadavg=str(f)) is None
    assert runtime.busy_cpus(samples=1, loadavg=str(tmp_path / "missing")) is None


@pytest.mark.parametrize(("threads", "requested", "busy", "cpus", "warned"), [
    (2, None, 0.0, 2, False),   # quiet machine: every CPU computes, no warning
    (2, None, 0.4, 2, False),   # a short spike
    (2, None, 1.0, 2, True),    # one CPU busy elsewhere: 2 threads would share 1 free CPU
    (1, 1, 2.0, 2, False),      # one thread: nothing left to take back
    (8, None, 1.0, 16, False),  # a big machine with room to spare
    (16, 16, 4.0, 16, True),
    (2, None, None, 2, False),  # not Linux: nothing known
])
def test_a_busy_machine_gets_a_threads_hint(threads, requested, busy, cpus, warned):
    hint = runtime.contention_warning(threads, requested, busy, cpus)
    assert (hint is not None) == warned
    if warned:
        assert "threads:" in hint and "OMP_WAIT_POLICY=PASSIVE" in hint


def test_resolve_warns_when_other_processes_keep_the_cpus_busy(monkeypatch, caplog, restore_threads):
    _cpu(monkeypatch, False)
    monkeypatch.setattr(runtime.os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(runtime, "busy_cpus", lambda: 1.6)
    with caplog.at_level(logging.WARNING, logger="v2v_pipeline.runtime"):
        runtime.resolve("cpu", "auto", what="training")
    assert "training: 1.6 of this machine's CPUs are busy" in caplog.text and "threads: 1" in caplog.text
    caplog.clear()
    monkeypatch.setattr(runtime, "busy_cpus", lambda: 0.0)
    with caplog.at_level(logging.WARNING, logger="v2v_pipeline.runtime"):
        runtime.resolve("cpu", "auto", what="training")
    assert "busy" not in caplog.text


@pytest.mark.parametrize(("cap", "native"), [("AVX512_CORE_VNNI", False), ("avx2", False), ("ALL", None)])
def test_a_onednn_isa_cap_below_bf16_counts_as_no_native_bf16(monkeypatch, cap, native):
    """ONEDNN_MAX_CPU_ISA below avx512_core_bf16 makes oneDNN emulate bf16 (slower than fp32), like a CPU without it:
    auto must then pick fp32; a cap that allows bf16 leaves the hardware query to decide."""
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)
    got, how = runtime.cpu_native_bf16()
    if native is None:
        monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
        assert (got, how) == runtime.cpu_native_bf16()
    else:
        assert got is native and f"ONEDNN_MAX_CPU_ISA={cap.upper()}" in how
        assert runtime.choose_precision(CPU, "auto")[0] == "fp32"
