"""Pod Security Standards, "restricted" level (Kubernetes 1.33), as a checker over a pod spec.

Written from the published standard (kubernetes.io, Pod Security Standards), control by
control, never from the charts' own values: the baseline controls first, then the
restricted ones. `violations` returns one line per broken control; empty means it passes."""

from __future__ import annotations

from typing import Any

# Restricted: "Volume Types" - only these.
ALLOWED_VOLUME_TYPES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
# Baseline: "Sysctls" - the safe set.
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}
# Baseline: "SELinux" - allowed types.
SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
SECCOMP_OK = {"RuntimeDefault", "Localhost"}
APPARMOR_OK = {"RuntimeDefault", "Localhost"}


def violations(pod_spec: dict[str, Any]) -> list[str]:
    out: list[str] = []
    psc = pod_spec.get("securityContext") or {}

    # Baseline: host namespaces.
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if pod_spec.get(field):
            out.append(f"pod: {field} is true")
    # Restricted: volume types (hostPath, the baseline's ban, is among those refused).
    for volume in pod_spec.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= ALLOWED_VOLUME_TYPES:
            out.append(f"volume {volume['name']}: type {sorted(kinds)} not allowed")
    # Baseline: sysctls.
    for sysctl in psc.get("sysctls", []):
        if sysctl.get("name") not in SAFE_SYSCTLS:
            out.append(f"pod: sysctl {sysctl.get('name')} not in the safe set")
    out += _selinux("pod", psc)
    if (psc.get("appArmorProfile") or {}).get("type", "RuntimeDefault") not in APPARMOR_OK:
        out.append("pod: appArmorProfile not RuntimeDefault/Localhost")
    if (psc.get("windowsOptions") or {}).get("hostProcess"):
        out.append("pod: windowsOptions.hostProcess")
    if psc.get("runAsUser") == 0:
        out.append("pod: runAsUser 0")
    pod_seccomp = (psc.get("seccompProfile") or {}).get("type")
    if pod_seccomp is not None and pod_seccomp not in SECCOMP_OK:
        out.append(f"pod: seccompProfile {pod_seccomp}")

    groups = ("initContainers", "containers", "ephemeralContainers")
    for c in [c for g in groups for c in pod_spec.get(g, [])]:
        name = f"container {c['name']}"
        sc = c.get("securityContext") or {}
        # Baseline: privileged containers.
        if sc.get("privileged"):
            out.append(f"{name}: privileged")
        # Baseline: host ports.
        for port in c.get("ports", []):
            if port.get("hostPort", 0) != 0:
                out.append(f"{name}: hostPort {port['hostPort']}")
        # Baseline: /proc mount type.
        if sc.get("procMount", "Default") != "Default":
            out.append(f"{name}: procMount {sc['procMount']}")
        if (sc.get("windowsOptions") or {}).get("hostProcess"):
            out.append(f"{name}: windowsOptions.hostProcess")
        if (sc.get("appArmorProfile") or {}).get("type", "RuntimeDefault") not in APPARMOR_OK:
            out.append(f"{name}: appArmorProfile not RuntimeDefault/Localhost")
        out += _selinux(name, sc)
        # Restricted: privilege escalation must be set to false, explicitly.
        if sc.get("allowPrivilegeEscalation") is not False:
            out.append(f"{name}: allowPrivilegeEscalation is not false")
        # Restricted: running as non-root - the container's own setting, else the pod's.
        non_root = sc["runAsNonRoot"] if "runAsNonRoot" in sc else psc.get("runAsNonRoot")
        if non_root is not True:
            out.append(f"{name}: runAsNonRoot is not true")
        # Restricted: running as non-root user.
        if sc.get("runAsUser") == 0:
            out.append(f"{name}: runAsUser 0")
        # Restricted: seccomp RuntimeDefault or Localhost, on the pod or on every container.
        seccomp = (sc.get("seccompProfile") or {}).get("type", pod_seccomp)
        if seccomp not in SECCOMP_OK:
            out.append(f"{name}: seccompProfile is {seccomp}")
        # Restricted: capabilities - drop ALL, add at most NET_BIND_SERVICE (baseline's list
        # is wider, restricted's is this one).
        caps = sc.get("capabilities") or {}
        if "ALL" not in caps.get("drop", []):
            out.append(f"{name}: capabilities.drop lacks ALL")
        extra = set(caps.get("add", [])) - {"NET_BIND_SERVICE"}
        if extra:
            out.append(f"{name}: capabilities.add {sorted(extra)}")
    return out


def _selinux(where: str, sc: dict[str, Any]) -> list[str]:
    opts = sc.get("seLinuxOptions") or {}
    out = []
    if opts.get("type", "") not in SELINUX_TYPES:
        out.append(f"{where}: seLinuxOptions.type {opts['type']}")
    for field in ("user", "role"):
        if opts.get(field):
            out.append(f"{where}: seLinuxOptions.{field} set")
    return out
