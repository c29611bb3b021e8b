// Installs the upstream CRDs into the local API server and waits until they are actually served.
import { readFile } from 'node:fs/promises';
import {
  ApiextensionsV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  loadYaml,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { waitFor } from './processes.js';

const FIELD_MANAGER = 'clusterinventory-stack';

export async function installCrds(kubeconfigPath: string, files: string[]): Promise<string[]> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const crds: V1CustomResourceDefinition[] = [];
  for (const file of files) {
    // loadYaml builds the typed model: plain YAML would lose fields the serializer renames (`default` → `_default`).
    const crd = loadYaml<V1CustomResourceDefinition>(await readFile(file, 'utf8'));
    await objects.patch(crd, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
    crds.push(crd);
  }
  for (const crd of crds) {
    const name = crd.metadata!.name!;
    // Established can come before discovery lists the resource, so wait for both.
    await waitFor(`CRD ${name} Established`, 30_000, async () => {
      const got = await ext.readCustomResourceDefinition({ name });
      const ok = (t: string): boolean => got.status?.conditions?.some((c) => c.type === t && c.status === 'True') ?? false;
      return ok('Established') && ok('NamesAccepted') ? true : undefined;
    });
    for (const version of crd.spec.versions.filter((v) => v.served)) {
      await waitFor(`discovery of ${crd.spec.group}/${version.name} ${crd.spec.names.plural}`, 30_000, async () => {
        const list = await custom.getAPIResources({ group: crd.spec.group, version: version.name });
        return list.resources.some((r) => r.name === crd.spec.names.plural) ? true : undefined;
      });
    }
  }
  return crds.map((c) => c.metadata!.name!);
}
