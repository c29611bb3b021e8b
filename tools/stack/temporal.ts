// Temporal-side readiness and search attribute registration for the dev server.
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { SEARCH_ATTRIBUTE_DECLARATIONS } from '../../workflows/api.js';

// @temporalio/proto is CommonJS: named ESM imports of its namespaces do not resolve.
const IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;

export async function temporalReady(address: string, namespace: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: 2_000 });
  try {
    await connection.workflowService.describeNamespace({ namespace });
    return true;
  } finally {
    await connection.close();
  }
}

/** Registers this project's search attributes that are missing; returns the names it added. */
export async function registerSearchAttributes(address: string, namespace: string): Promise<string[]> {
  const connection = await Connection.connect({ address, connectTimeout: 5_000 });
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const have = new Set(Object.keys(existing.customAttributes ?? {}));
    const missing = SEARCH_ATTRIBUTE_DECLARATIONS.filter((d) => !have.has(d.name));
    if (missing.length === 0) return [];
    const searchAttributes: Record<string, proto.temporal.api.enums.v1.IndexedValueType> = {};
    for (const d of missing) {
      const type = IndexedValueType[`INDEXED_VALUE_TYPE_${d.type.toUpperCase()}` as keyof typeof IndexedValueType];
      if (typeof type !== 'number') throw new Error(`unknown search attribute type ${d.type}`);
      searchAttributes[d.name] = type;
    }
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
    return missing.map((d) => d.name);
  } finally {
    await connection.close();
  }
}
