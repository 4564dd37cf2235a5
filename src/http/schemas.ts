// Request field schemas shared by several routes.
import { z } from 'zod';

/** Device IDs are opaque to clients; bounded so they stay printable and indexable. */
export const DeviceId = z.string().min(1).max(255).regex(/^[\x21-\x7e]+$/, 'must be 1-255 printable ASCII characters');

/** An optional field that may also be sent as null. */
export const opt = <T extends z.ZodType>(t: T) => t.nullish().transform((v) => v ?? undefined);
