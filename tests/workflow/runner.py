"""A GitHub Actions runner for one workflow file, run night after night on this machine.

Jobs run in dependency order; each job of ``container: debian:12`` runs in a fresh copy
of a Debian 12 minbase root (the image stand-in `.ci/fresh-root` builds) with the
workspace at ``/__w/REPO/REPO`` while ``github.workspace`` names the host's path, as on
GitHub. ``run:`` steps run with bash in that root with the workflow's, job's and step's
``env``, the ``GITHUB_*`` variables and files (outputs, env, step summary); ``if:``
conditions, step and job outputs, ``needs``, ``strategy.matrix`` (fromJSON include
lists) and ``timeout-minutes`` are honoured; the actions the workflow uses are emulated
in ``actions.py``; any other action is an error. A job's ``permissions`` decide whether
pushes to the repository's remote are accepted (its pre-receive hook asks).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.workflow import actions
from tests.workflow.expressions import Evaluator, condition, interpolate

IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# What configures the network on this machine (the runner's network, not the workflow).
PASSED_ENV = ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY",
              "NO_PROXY", "PIP_DEFAULT_TIMEOUT", "PIP_FIND_LINKS")  # fmt: skip
CA_FILE = "/etc/ssl/runner-ca.crt"
SCOPE_VARIABLE = "RUNNER_EMULATED_CONTENTS"


@dataclass
class StepResult:
    name: str
    outcome: str  # success, failure, skipped
    log: Path | None


@dataclass
class JobResult:
    job: str
    name: str
    result: str  # success, failure, skipped
    steps: list[StepResult] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    seconds: float = 0.0

    def step(self, needle: str) -> StepResult:
        return next(s for s in self.steps if needle in s.name)

    def log_text(self) -> str:
        return "\n".join(s.log.read_text(errors="replace") for s in self.steps if s.log)


class StepFailed(actions.ActionFailed):
    """A run: step's non-zero exit, with what it wrote to its file commands."""

    def __init__(self, message: str, written: tuple[dict[str, str], str, dict[str, str]]):
        super().__init__(message)
        self.written = written


@dataclass
class _Job:
    """One job's state while its steps run."""

    box: actions.Container
    logs: Path
    spec: dict[str, Any]
    context: dict[str, Any]
    sha: str
    deadline: float
    permissions: dict[str, str]
    result: JobResult
    steps: dict[str, Any] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    failed: bool = False

    def record(self, step: dict[str, Any], done: StepResult, outputs: dict[str, str]) -> None:
        self.result.steps.append(done)
        if "id" in step:
            self.steps[step["id"]] = {
                "outputs": outputs,
                "outcome": done.outcome,
                "conclusion": done.outcome,
            }


@dataclass
class Night:
    run_id: str
    jobs: dict[str, list[JobResult]]

    def job(self, name: str) -> list[JobResult]:
        return self.jobs[name]


@dataclass
class Repository:
    """The repository on "GitHub": a bare remote whose main holds the commit under test."""

    remote: Path  # bare; mounted at the same path inside every job
    name: str = "smmu-rig"

    def head(self) -> str:
        return subprocess.run(
            ["git", "-C", str(self.remote), "rev-parse", "refs/heads/main"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip

    def guard_pushes(self) -> None:
        """Pushes are accepted only from a job whose token may write contents."""
        hook = self.remote / "hooks" / "pre-receive"
        hook.write_text(
            "#!/bin/sh\n"
            f'[ "${{{SCOPE_VARIABLE}:-read}}" = write ] && exit 0\n'
            'echo "remote: Permission to push denied: the job\'s token has contents: read" >&2\n'
            "exit 1\n"
        )
        hook.chmod(0o755)


class Runner:
    def __init__(
        self,
        workflow: Path,
        repo: Repository,
        *,
        image: Path,
        work: Path,
        store: actions.Store,
        mounts: list[Path],
        shared_caches: dict[str, Path],
    ) -> None:
        self.workflow = workflow
        self.spec = yaml.safe_load(workflow.read_text())
        self.repo = repo
        self.image = image
        self.work = work
        self.store = store
        self.mounts = mounts
        self.shared = shared_caches  # path inside the root -> host folder (download caches)

    # -- the night -------------------------------------------------------------------
    def run(
        self, run_id: str, event: str = "schedule", inputs: dict[str, str] | None = None
    ) -> Night:
        jobs: dict[str, dict[str, Any]] = self.spec["jobs"]
        done: dict[str, list[JobResult]] = {}
        order = _order(jobs)
        sha = self.repo.head()
        self.github = {
            "workspace": f"/home/runner/work/{self.repo.name}/{self.repo.name}",
            "run_id": run_id, "run_attempt": "1", "run_number": run_id,
            "event_name": event, "ref": "refs/heads/main", "ref_name": "main",
            "sha": sha, "repository": f"team/{self.repo.name}",
            "server_url": "https://git.example.invalid", "job": "",
        }  # fmt: skip
        self.inputs = dict(inputs or {}) if event == "workflow_dispatch" else {}
        self.run_id = run_id
        for name in order:
            done[name] = self._job(name, jobs[name], done, sha)
        return Night(run_id, done)

    def _needs_context(
        self, spec: dict[str, Any], done: dict[str, list[JobResult]]
    ) -> dict[str, Any]:
        needs = spec.get("needs") or []
        needs = [needs] if isinstance(needs, str) else needs
        context = {}
        for need in needs:
            results = done[need]
            outputs: dict[str, str] = {}
            for result in results:
                outputs.update({k: v for k, v in result.outputs.items() if v != ""})
            context[need] = {"result": _combined(results), "outputs": outputs}
        return context

    def _job(
        self, name: str, spec: dict[str, Any], done: dict[str, list[JobResult]], sha: str
    ) -> list[JobResult]:
        needs = self._needs_context(spec, done)
        status = {
            "success": lambda: all(n["result"] == "success" for n in needs.values()),
            "failure": lambda: any(n["result"] == "failure" for n in needs.values()),
            "always": lambda: True,
            "cancelled": lambda: False,
        }
        base = {"github": self.github, "needs": needs, "inputs": self.inputs, "vars": {},
                "secrets": {}, "env": {}}  # fmt: skip
        job_if = spec.get("if", "success()")
        if not condition(job_if, Evaluator(base, status)):
            print(f"[runner] job {name}: skipped ({job_if})", flush=True)
            return [JobResult(name, name, "skipped")]
        legs: list[dict[str, Any]] = [{}]
        strategy = spec.get("strategy") or {}
        if "matrix" in strategy:
            legs = _matrix_legs(strategy["matrix"], Evaluator(base, status))
        results = []
        for leg in legs:
            context = {**base, "matrix": leg, "strategy": strategy}
            title = interpolate(str(spec.get("name", name)), Evaluator(context, status))
            results.append(self._leg(name, title, spec, context, sha))
        return results

    # -- one job in its container --------------------------------------------------------
    def _leg(
        self, job: str, title: str, spec: dict[str, Any], context: dict[str, Any], sha: str
    ) -> JobResult:
        """One job (one matrix leg) in a fresh copy of the image, its steps in order."""
        if spec.get("container") != "debian:12":
            raise RuntimeError(f"job {job}: only container: debian:12 is emulated")
        started = time.monotonic()
        slug = "".join(c if c.isalnum() or c in "-_." else "-" for c in title)
        folder = self.work / f"night-{self.run_id}" / slug
        root = folder / "root"
        (folder / "logs").mkdir(parents=True, exist_ok=True)
        subprocess.run(["cp", "-a", "--reflink=auto", str(self.image), str(root)], check=True)
        workspace = f"/__w/{self.repo.name}/{self.repo.name}"
        state = _Job(
            box=actions.Container(root, workspace),
            logs=folder / "logs",
            spec=spec,
            context=context,
            sha=sha,
            deadline=started + 60 * float(spec.get("timeout-minutes", 360)),
            permissions={**_perms(self.spec.get("permissions")), **_perms(spec.get("permissions"))},
            result=JobResult(job, title, "success"),
        )
        self._mount(root)
        try:
            for sub in ("github/home", workspace.lstrip("/"), "__w/_temp"):
                (root / sub).mkdir(parents=True, exist_ok=True)
            for index, step in enumerate(spec.get("steps", []), start=1):
                self._step(state, index, step)
            state.result.result = "failure" if state.failed else "success"
            ev = Evaluator({**context, "steps": state.steps}, {"always": lambda: True})
            state.result.outputs = {
                k: interpolate(str(v), ev) for k, v in (spec.get("outputs") or {}).items()
            }
        finally:
            self._unmount(root)
            if _nothing_mounted(root):
                shutil.rmtree(root)
        state.result.seconds = time.monotonic() - started
        print(
            f"[runner] {title}: {state.result.result} in {state.result.seconds:.0f} s", flush=True
        )
        return state.result

    def _evaluator(self, state: _Job, step: dict[str, Any]) -> tuple[Evaluator, dict[str, str]]:
        """The step's expression contexts, with ``env`` built layer by layer (workflow,
        job, step, then what earlier steps wrote to GITHUB_ENV)."""
        failed = state.failed
        status = {
            "success": lambda: not failed,
            "failure": lambda: failed,
            "always": lambda: True,
            "cancelled": lambda: False,
        }
        context = {
            **state.context,
            "steps": state.steps,
            "job": {"status": "failure" if failed else "success"},
            "runner": {"os": "Linux", "temp": "/__w/_temp"},
        }
        env: dict[str, str] = {}
        for layer in (
            self.spec.get("env") or {},
            state.spec.get("env") or {},
            step.get("env") or {},
        ):
            ev = Evaluator({**context, "env": env}, status)
            env.update({k: interpolate(str(v), ev) for k, v in layer.items()})
        env.update(state.extra_env)
        return Evaluator({**context, "env": env}, status), env

    def _step(self, state: _Job, index: int, step: dict[str, Any]) -> None:
        label = step.get("name") or step.get("uses") or step.get("run", "").split("\n")[0]
        label = f"{index:02d} {label}"[:80]
        ev, env = self._evaluator(state, step)
        if not condition(step.get("if", "success()"), ev):
            state.record(step, StepResult(label, "skipped", None), {})
            return
        log = state.logs / f"{label.replace('/', '_').replace(' ', '_')}.log"
        outputs: dict[str, str] = {}
        try:
            if time.monotonic() > state.deadline:
                raise actions.ActionFailed("the job exceeded its timeout-minutes")
            if "run" in step:
                outputs, summary, new_env = self._run_step(
                    state.box, step, ev, env, state.permissions, log, state.deadline
                )
                state.result.summary += summary
                state.extra_env.update(new_env)
            else:
                outputs = self._uses(state.box, step, ev, state.sha, log)
            outcome = "success"
        except actions.ActionFailed as err:
            if isinstance(err, StepFailed):
                outputs, summary, new_env = err.written
                state.result.summary += summary
                state.extra_env.update(new_env)
            with log.open("a") as handle:
                handle.write(f"\n##[error]{err}\n")
            title = state.result.name
            print(f"[runner] {title}: step {label} FAILED: {str(err)[:300]}", flush=True)
            outcome = "failure"
            state.failed = True
        state.record(step, StepResult(label, outcome, log), outputs)

    def _run_step(  # noqa: PLR0917
        self,
        box: actions.Container,
        step: dict[str, Any],
        ev: Evaluator,
        env: dict[str, str],
        permissions: dict[str, str],
        log: Path,
        deadline: float,
    ) -> tuple[dict[str, str], str, dict[str, str]]:
        script = interpolate(str(step["run"]), ev)
        token = uuid.uuid4().hex[:8]
        temp = box.root / "__w" / "_temp"
        files = {name: f"/__w/_temp/{name}_{token}" for name in ("output", "env", "summary")}
        for path in files.values():
            (box.root / path.lstrip("/")).write_text("")
        (temp / f"{token}.sh").write_text(script + "\n")
        shell = str(step.get("shell", "")).strip()
        argv = {"": ["bash", "-e"], "bash": ["bash", "--noprofile", "--norc", "-eo", "pipefail"],
                "sh": ["sh", "-e"]}.get(shell)  # fmt: skip
        if argv is None:
            raise actions.ActionFailed(f"shell {shell!r} is not emulated")
        workdir = step.get("working-directory", ".")
        variables = {
            "HOME": "/github/home", "PATH": IMAGE_PATH, "CI": "true", "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": box.workspace, "RUNNER_TEMP": "/__w/_temp",
            "GITHUB_OUTPUT": files["output"], "GITHUB_ENV": files["env"],
            "GITHUB_STEP_SUMMARY": files["summary"], "GITHUB_RUN_ID": self.github["run_id"],
            "GITHUB_RUN_ATTEMPT": "1", "GITHUB_REPOSITORY": self.github["repository"],
            "GITHUB_SHA": self.github["sha"], "GITHUB_REF": self.github["ref"],
            "GITHUB_EVENT_NAME": self.github["event_name"],
            SCOPE_VARIABLE: permissions.get("contents", "none"),
            **{k: os.environ[k] for k in PASSED_ENV if k in os.environ},
            **self._ca_env(box.root), **env,
        }  # fmt: skip
        command = ["chroot", str(box.root), "/usr/bin/env", "-i",
                   *[f"{k}={v}" for k, v in variables.items()], "/bin/bash", "-c",
                   f'cd "{box.workspace}/{workdir}" && exec "$@"', "step",
                   *argv, f"/__w/_temp/{token}.sh"]  # fmt: skip
        with log.open("w") as handle:
            handle.write(f"$ {script}\n")
            handle.flush()
            child = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
            try:
                code = child.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _kill_inside(box.root)
                child.kill()
                raise actions.ActionFailed("the job exceeded its timeout-minutes") from None
        # The file commands count whatever the step's exit code: a failed step's summary
        # is shown, its outputs and env are set.
        text = {name: (box.root / path.lstrip("/")).read_text() for name, path in files.items()}
        written = _key_values(text["output"]), text["summary"], _key_values(text["env"])
        if code != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            raise StepFailed(f"Process completed with exit code {code}.\n{tail}", written)
        return written

    def _ca_env(self, root: Path) -> dict[str, str]:
        """This machine's CA bundle for pip inside the root, as .ci/fresh-root passes it."""
        bundle = os.environ.get("PIP_CERT") or os.environ.get("SSL_CERT_FILE")
        if not bundle or not Path(bundle).is_file():
            return {}
        target = root / CA_FILE.lstrip("/")
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(bundle, target)
        return {"PIP_CERT": CA_FILE}

    def _uses(
        self, box: actions.Container, step: dict[str, Any], ev: Evaluator, sha: str, log: Path
    ) -> dict[str, str]:
        uses = str(step["uses"])
        action, _, version = uses.partition("@")
        inputs = {k: interpolate(str(v), ev) for k, v in (step.get("with") or {}).items()}
        log.write_text(f"uses {uses} with {json.dumps(inputs)}\n")
        major = int(version.lstrip("v").split(".")[0] or 0)
        if action == "actions/checkout" and major >= 4:
            git = subprocess.run(["chroot", str(box.root), "/bin/sh", "-c", "command -v git"],
                                 capture_output=True, check=False).returncode == 0  # fmt: skip
            return actions.checkout(box, f"file://{self.repo.remote}", sha, git)
        if action == "actions/cache/restore" and major >= 4:
            return actions.cache_restore(self.store, box, inputs)
        if action == "actions/cache/save" and major >= 4:
            return actions.cache_save(self.store, box, inputs)
        if action == "actions/upload-artifact" and major >= 4:
            actions.upload_artifact(self.store, box, self.run_id, inputs)
            return {}
        if action == "actions/download-artifact" and major >= 4:
            actions.download_artifact(self.store, box, self.run_id, inputs)
            return {}
        raise actions.ActionFailed(f"{uses}: not an action this runner emulates")

    # -- mounts ----------------------------------------------------------------------------
    def _mount(self, root: Path) -> None:
        for name in ("proc", "sys", "dev"):
            subprocess.run(["mount", "--rbind", f"/{name}", str(root / name)], check=True)
            subprocess.run(["mount", "--make-rslave", str(root / name)], check=True)
        binds = [(p, p) for p in [self.repo.remote, *self.mounts]]
        binds += [(host, Path(inside)) for inside, host in self.shared.items()]
        for host, inside in binds:
            target = root / str(inside).lstrip("/")
            target.mkdir(parents=True, exist_ok=True)
            subprocess.run(["mount", "--bind", str(host), str(target)], check=True)

    def _unmount(self, root: Path) -> None:
        _kill_inside(root)
        for target in sorted(_mounts_under(root), key=len, reverse=True):
            subprocess.run(["umount", "-l", target], check=False)


def _perms(value: Any) -> dict[str, str]:
    if value in ("read-all", "write-all"):
        return {"contents": value.split("-")[0]}
    return {str(k): str(v) for k, v in (value or {}).items()}


def _combined(results: list[JobResult]) -> str:
    outcomes = {r.result for r in results}
    if "failure" in outcomes:
        return "failure"
    return "skipped" if outcomes == {"skipped"} else "success"


def _order(jobs: dict[str, dict[str, Any]]) -> list[str]:
    order: list[str] = []
    while len(order) < len(jobs):
        ready = [
            name for name, spec in jobs.items() if name not in order
            and all(n in order for n in _needs(spec))
        ]  # fmt: skip
        if not ready:
            raise RuntimeError("the jobs' needs form a circle")
        order.extend(ready)
    return order


def _needs(spec: dict[str, Any]) -> list[str]:
    needs = spec.get("needs") or []
    return [needs] if isinstance(needs, str) else list(needs)


def _matrix_legs(matrix: Any, ev: Evaluator) -> list[dict[str, Any]]:
    if isinstance(matrix, str):
        matrix = ev.evaluate(matrix.strip().removeprefix("${{").removesuffix("}}"))
    if not isinstance(matrix, dict):
        raise RuntimeError(f"strategy.matrix is not a mapping: {matrix!r}")
    include = list(matrix.get("include") or [])
    axes = {k: v for k, v in matrix.items() if k not in ("include", "exclude")}
    legs = (
        [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*axes.values())]
        if axes
        else []
    )
    legs += include if not axes else []
    if not legs:
        raise actions.ActionFailed("Matrix vector 'include' does not contain any values")
    return legs


def _key_values(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, _, delimiter = line.partition("<<")
            body: list[str] = []
            for value in lines:
                if value == delimiter:
                    break
                body.append(value)
            values[name] = "\n".join(body)
        elif "=" in line:
            name, _, value = line.partition("=")
            values[name] = value
    return values


def _mounts_under(root: Path) -> list[str]:
    prefix = str(root.resolve())
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4]
        if point == prefix or point.startswith(prefix + "/"):
            found.append(point)
    return found


def _nothing_mounted(root: Path) -> bool:
    return not _mounts_under(root)


def _kill_inside(root: Path) -> None:
    target = str(root.resolve())
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if str((proc / "root").readlink()) == target:
                os.kill(int(proc.name), 9)
        except OSError:
            continue
