# OpenEvolve format: evaluate(program_path) -> metrics. The score is the distance of X to 3.14,
# so an evaluation costs almost nothing but the sandbox and the import of the program.
import importlib.util


def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("program", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {"combined_score": -abs(float(module.X) - 3.14)}
