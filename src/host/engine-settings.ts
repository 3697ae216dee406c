// This host's runc, podman and docker settings (the config file's hosts[].runc / .podman / .docker).
// Here rather than in the adapters: the runtime context, the adapters and the dev environment
// all name them, and the context must not import the adapters it is handed to.

export interface PodmanSettings {
  root?: string;
  runroot?: string;
  containersConf?: string;
  /**
   * A network namespace (e.g. /run/netns/NAME) that every podman command of this host runs in
   * (nsenter --net): its bridge, port forwards and iptables rules live there. Omitted: the
   * machine's own.
   */
  netns?: string;
}

export interface DockerSettings {
  socket: string;
  client: string;
  /** The --criu-work-root of dockerd's runc wrapper (bin/ferry-docker-runc), if it has one. */
  criuWorkRoot?: string;
}

export interface RuncSettings {
  /** runc's state root (`runc --root`): where this host's containers are, ferry's and the users'. */
  root: string;
}
