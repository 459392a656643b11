// Mutation providers: LLMs through LangChain JS (see README.md in this folder).
export * from '../../client-safe/model-config.ts'
export * from './env.ts'
export * from './errors.ts'
export * from './retry.ts'
export * from './chat-model.ts'
export * from './client.ts'
export * from './ensemble.ts'
export * from './embedder.ts'
