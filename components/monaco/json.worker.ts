// Monaco's JSON language worker, bundled locally.
import 'monaco-editor/languages/features/json/json.worker'
