// GraphQL Code Generator (client preset) for the example operations in examples/. From the root:
//   npm ci --prefix examples && npm run --prefix examples codegen
// writes typed documents and result types to examples/generated/ (ignored by git). The script
// runs `graphql-codegen --config codegen.ts` here with NODE_PATH=examples/node_modules, where
// the preset is installed. A front end copies this file, points `documents` at its own
// operations, and runs `npx graphql-codegen` with the same packages in its own package.json.
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  // The committed SDL, not a running server: generation works offline and in CI.
  schema: "schema/schema.graphql",
  documents: ["examples/**/*.graphql", "!examples/node_modules/**"],
  ignoreNoDocuments: false,
  generates: {
    "examples/generated/": {
      preset: "client",
      config: {
        // Every custom scalar in schema/schema.graphql reaches the client as a JSON string.
        scalars: {
          DateTime: "string", // ISO 8601 with offset: 2024-05-01T00:00:00+00:00
          Date: "string", // ISO 8601 date: 2025-05-01
          JSONString: "string", // JSON text (jsonLd, snapshot): JSON.parse it, or use as is
        },
        strictScalars: true, // a new scalar without a mapping here fails generation
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
  },
};

export default config;
