/**
 * CRI answers -> the container directory's ContainerInfo. Pure functions,
 * tested against responses recorded from containerd.
 */
import {
  POD_NAME_LABEL,
  POD_NAMESPACE_LABEL,
  POD_UID_LABEL,
  type ContainerInfo,
} from '../container-directory';
import type { CriContainerStatusResponse, CriPodSandbox, CriPodSandboxStatusResponse } from './client';

/** The runtime name Casefile uses (as the cgroup mapping does) for a CRI `Version.runtimeName`. */
export function runtimeOf(runtimeName: string): string {
  return /cri-?o/i.test(runtimeName) ? 'cri-o' : runtimeName.toLowerCase();
}

/**
 * The image digest in a CRI `imageRef`: the digest of a repo digest
 * (`docker.io/library/nginx@sha256:...`), else the image id (`sha256:...`;
 * CRI-O may give the bare 64-hex id). Undefined when it is neither.
 * @example digestOfImageRef('docker.io/library/busybox@sha256:ab...') // => 'sha256:ab...'
 */
export function digestOfImageRef(imageRef: string | undefined): string | undefined {
  if (!imageRef) return undefined;
  const ref = imageRef.includes('@') ? imageRef.slice(imageRef.lastIndexOf('@') + 1) : imageRef;
  if (/^sha256:[0-9a-f]{64}$/.test(ref)) return ref;
  if (/^[0-9a-f]{64}$/.test(ref)) return `sha256:${ref}`;
  return undefined;
}

/** The runtime's verbose `info.info` JSON ({pid, sandboxID, ...} in containerd and CRI-O); {} when absent or not JSON. */
export function verboseInfo(info: Record<string, string> | undefined): { pid?: number; sandboxID?: string } {
  try {
    const v = JSON.parse(info?.info ?? '{}') as { pid?: unknown; sandboxID?: unknown };
    return {
      pid: typeof v.pid === 'number' && v.pid > 0 ? v.pid : undefined,
      sandboxID: typeof v.sandboxID === 'string' ? v.sandboxID : undefined,
    };
  } catch {
    return {};
  }
}

/**
 * A container's ContainerStatus (verbose) -> ContainerInfo. Pod name,
 * namespace and uid come from the io.kubernetes.* labels kubelet sets, else
 * from the pod sandbox's metadata when given.
 */
export function infoFromContainerStatus(
  res: CriContainerStatusResponse,
  runtime: string,
  sandbox?: CriPodSandbox
): ContainerInfo {
  const s = res.status;
  if (!s) throw new Error('ContainerStatus answered without a status');
  const labels = s.labels ?? {};
  const annotations = s.annotations ?? {};
  return {
    containerId: s.id,
    containerName: s.metadata?.name || labels['io.kubernetes.container.name'] || undefined,
    imageName: s.image?.image || undefined,
    imageDigest: digestOfImageRef(s.imageRef),
    labels,
    annotations,
    pod: labels[POD_NAME_LABEL] ?? sandbox?.metadata?.name,
    namespace: labels[POD_NAMESPACE_LABEL] ?? sandbox?.metadata?.namespace,
    podUid: labels[POD_UID_LABEL] ?? sandbox?.metadata?.uid,
    pid: verboseInfo(res.info).pid,
    runtime,
  };
}

/**
 * A pod sandbox -> ContainerInfo for its own processes (the pause process):
 * named `POD` as kubelet names it; the image is the sandbox image when the
 * runtime's verbose info says it (containerd does).
 */
export function infoFromSandboxStatus(res: CriPodSandboxStatusResponse, runtime: string): ContainerInfo {
  const s = res.status;
  if (!s) throw new Error('PodSandboxStatus answered without a status');
  let image: string | undefined;
  try {
    const v = JSON.parse(res.info?.info ?? '{}') as { image?: unknown };
    if (typeof v.image === 'string' && v.image) image = v.image;
  } catch {
    /* no verbose info */
  }
  const labels = s.labels ?? {};
  return {
    containerId: s.id,
    containerName: 'POD',
    imageName: image,
    labels,
    annotations: s.annotations ?? {},
    pod: labels[POD_NAME_LABEL] ?? s.metadata?.name,
    namespace: labels[POD_NAMESPACE_LABEL] ?? s.metadata?.namespace,
    podUid: labels[POD_UID_LABEL] ?? s.metadata?.uid,
    pid: verboseInfo(res.info).pid,
    runtime,
  };
}
