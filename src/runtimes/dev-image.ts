/**
 * The dev environment's workload image (busybox-static + ferry-stateful, built locally: no
 * registry is reachable), as each runtime names it after `podman import` / `docker import`.
 */
export const DEV_IMAGE = {
  podman: 'localhost/ferry-stateful:latest',
  docker: 'ferry-stateful:latest',
} as const;
export const DEV_IMAGE_REF = 'ferry-stateful:latest';
