"""Per-execution resource limits of the sandbox."""

from __future__ import annotations

from dataclasses import asdict, dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class SandboxLimits:
    """What one execution may use before it is stopped.

    ``timeout_s`` is wall-clock time (the whole process group is killed when it runs out);
    ``cpu_s`` is CPU time (RLIMIT_CPU). ``memory_mb`` caps the address space of the child, which
    starts as a copy of the fork server (about 150 MB with numpy and sympy loaded), so keep it well
    above that. ``max_processes`` is the RLIMIT_NPROC headroom for processes the program spawns;
    ``max_file_mb`` caps any file it writes (RLIMIT_FSIZE); ``max_open_files`` is RLIMIT_NOFILE.
    ``max_output_bytes`` is kept per stream (stdout, stderr); the rest is dropped and ``truncated``
    set, and a program that keeps printing far past it is killed. ``tmpfs_mb`` sizes the private
    /tmp of a worker where bubblewrap can set it; it is fixed when the workers start, so only the
    executor's own limits set it, not limits passed to one ``execute`` call.
    """

    timeout_s: float = 10.0
    cpu_s: float = 10.0
    memory_mb: int = 2048
    max_processes: int = 32
    max_file_mb: int = 16
    max_open_files: int = 64
    max_output_bytes: int = 64 * 1024
    tmpfs_mb: int = 256

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if value <= 0:
                raise ValueError(f"SandboxLimits.{name} must be > 0, got {value}")
        if self.max_open_files < 8:
            # The interpreter itself needs stdin/stdout/stderr and a few more to run at all.
            raise ValueError(f"max_open_files must be >= 8, got {self.max_open_files}")

    def to_wire(self) -> dict:
        """The limits as the JSON object the fork server reads."""
        return asdict(self)
