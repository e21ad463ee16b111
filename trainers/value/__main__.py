import sys

from trainers.common.cli import main
from trainers.value import ValueConfig, train
from trainers.value.train import __doc__ as DOC

if __name__ == "__main__":
    main("python -m trainers.value", ValueConfig, train, DOC, sys.argv[1:])
