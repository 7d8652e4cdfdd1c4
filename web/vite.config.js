// Builds web/ into web/dist, which `moss serve` serves at /. Relative asset paths so the UI also
// works behind a reverse proxy under a sub-path.
import { defineConfig } from 'vite';

export default defineConfig({
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1024 },
});
