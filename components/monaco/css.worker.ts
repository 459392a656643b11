// Monaco's CSS/SCSS/LESS language worker, bundled locally.
import 'monaco-editor/languages/features/css/css.worker'
