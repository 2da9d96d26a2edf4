"""What /proc says about a process the tests started: resident memory now and at its peak
(resettable), and CPU time used."""
import os


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def rss_bytes(pid):
    return status_kib(pid, "VmRSS") * 1024


def peak_rss_bytes(pid):
    """The largest RSS since the process started or since reset_peak_rss()."""
    return status_kib(pid, "VmHWM") * 1024


def reset_peak_rss(pid):
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sanitized(binary):
    """Whether `binary` is built with AddressSanitizer or ThreadSanitizer: their allocators keep
    freed memory in quarantine, so resident-memory bounds mean nothing for it (functional checks
    still apply)."""
    import subprocess
    libraries = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    return "libasan" in libraries or "libtsan" in libraries
